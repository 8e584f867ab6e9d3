package actions

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// postWith posts the form to path with extra headers and returns the answer.
// httptest's requests are for host example.com.
func postWith(t *testing.T, h http.Handler, path string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(url.Values{"value": {"v"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// crossSite are the headers a browser sends when a page of another site
// posts a form to the server.
var crossSite = map[string]map[string]string{
	"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site"},
	"Sec-Fetch-Site same-site":  {"Sec-Fetch-Site": "same-site", "Origin": "http://other.example.com"},
	"foreign Origin":            {"Origin": "http://evil.example"},
	"foreign Origin, same host": {"Origin": "http://example.com.evil.example"},
	"opaque Origin":             {"Origin": "null"},
	"both":                      {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
}

// A page of another site that posts to the actions (a VisitAll that resets
// every counter, say) is refused, and the action does not run.
func TestCrossSiteStartIsRefused(t *testing.T) {
	for name, header := range crossSite {
		t.Run(name, func(t *testing.T) {
			s, router := newServer(t)
			ran := make(chan struct{}, 1)
			require.NoError(t, s.AttachFuncAction("reset", "resets every counter", func(context.Context, string) error {
				ran <- struct{}{}
				return nil
			}))
			rec := postWith(t, router, "/actions/start/reset", header)
			assert.Equal(t, http.StatusForbidden, rec.Code)
			a, err := s.action("reset")
			require.NoError(t, err)
			a.mu.Lock()
			done := a.done
			a.mu.Unlock()
			assert.Nil(t, done, "the action must not start")
			select {
			case <-ran:
				t.Fatal("the action ran")
			default:
			}
		})
	}
}

// Stopping is a state change too: a foreign page cannot cancel a run.
func TestCrossSiteStopIsRefused(t *testing.T) {
	s, router := newServer(t)
	b := newBlocker()
	require.NoError(t, s.AttachAction("block", b))
	rec := postWith(t, router, "/actions/start/block", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	<-b.started

	for name, header := range crossSite {
		rec = postWith(t, router, "/actions/stop/block", header)
		assert.Equal(t, http.StatusForbidden, rec.Code, name)
	}
	select {
	case <-b.ended:
		t.Fatal("a cross-site request stopped the action")
	default:
	}
	a, err := s.action("block")
	require.NoError(t, err)
	assert.True(t, a.status().Running)
	require.NoError(t, a.stop(context.Background()))
}

// The page's own forms, and clients that are not browsers (curl, scripts:
// they carry no cookies or credentials of a victim, so there is nothing to
// forge), are served.
func TestSameOriginAndNonBrowserPostsWork(t *testing.T) {
	headers := map[string]map[string]string{
		"same-origin form":   {"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"},
		"Origin only":        {"Origin": "http://example.com"},
		"user-typed (none)":  {"Sec-Fetch-Site": "none"},
		"no browser headers": {},
	}
	for name, header := range headers {
		t.Run(name, func(t *testing.T) {
			s, router := newServer(t)
			ran := make(chan string, 1)
			require.NoError(t, s.AttachFuncAction("go", "", func(_ context.Context, v string) error {
				ran <- v
				return nil
			}))
			rec := postWith(t, router, "/actions/start/go", header)
			require.Equal(t, http.StatusSeeOther, rec.Code)
			assert.Equal(t, "/actions/", rec.Header().Get("Location"))
			select {
			case v := <-ran:
				assert.Equal(t, "v", v)
			case <-time.After(waitLimit):
				t.Fatal("the action did not run")
			}
			waitEnded(t, s, "go")
		})
	}
}

// A GET never starts or stops anything, whatever it carries.
func TestGetNeverTriggers(t *testing.T) {
	s, router := newServer(t)
	require.NoError(t, s.AttachFuncAction("noop", "", func(context.Context, string) error { return nil }))
	for _, path := range []string{"/actions/start/noop?value=1", "/actions/stop/noop"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, path)
	}
	a, err := s.action("noop")
	require.NoError(t, err)
	assert.Nil(t, a.done, "a GET must not start an action")
}

// Behind a proxy that rewrites Host, the public origin can be trusted; a nil
// protection is the default one, never none.
func TestCrossOriginProtectionOption(t *testing.T) {
	cop := http.NewCrossOriginProtection()
	require.NoError(t, cop.AddTrustedOrigin("https://ops.example"))
	for name, tc := range map[string]struct {
		cop    *http.CrossOriginProtection
		origin string
		want   int
	}{
		"trusted origin":         {cop, "https://ops.example", http.StatusSeeOther},
		"other origin":           {cop, "https://evil.example", http.StatusForbidden},
		"nil is the default one": {nil, "https://ops.example", http.StatusForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			router := mux.NewRouter()
			s := NewServer("/actions", router, WithLogger(discard{}), WithCrossOriginProtection(tc.cop))
			require.NoError(t, s.AttachFuncAction("noop", "", func(context.Context, string) error { return nil }))
			rec := postWith(t, router, "/actions/start/noop", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": tc.origin})
			assert.Equal(t, tc.want, rec.Code)
			if tc.want == http.StatusSeeOther {
				waitEnded(t, s, "noop")
			}
		})
	}
}
