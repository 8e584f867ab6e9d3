package page

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func teapot(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }

// askBasic is an authenticator's error that answers the request itself.
type askBasic struct{}

func (askBasic) Error() string { return "no credentials" }

func (askBasic) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("WWW-Authenticate", `Basic realm="ops"`)
	w.WriteHeader(http.StatusUnauthorized)
}

func TestAuthenticate(t *testing.T) {
	var verdict error
	l := &logs{}
	h := Authenticate(func(*http.Request) error { return verdict }, l, teapot)

	serve := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodGet, "/secret", nil))
		return rec
	}

	verdict = nil
	assert.Equal(t, http.StatusTeapot, serve().Code, "an authenticated request is served")

	verdict = errors.New("token expired at 12:00 for user ada")
	rec := serve()
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.NotContains(t, rec.Body.String(), "ada", "the reason is logged, not told to the client")
	require.Len(t, l.lines, 1)

	verdict = fmt.Errorf("ada may not act: %w", fs.ErrPermission)
	assert.Equal(t, http.StatusForbidden, serve().Code)

	verdict = fmt.Errorf("wrapped: %w", askBasic{})
	rec = serve()
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, `Basic realm="ops"`, rec.Header().Get("WWW-Authenticate"), "an error that is a handler answers itself")

	assert.Equal(t, http.StatusTeapot, serveWith(Authenticate(nil, l, teapot)).Code, "no authenticator, no check")
}

func serveWith(h http.HandlerFunc) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec
}

func TestSameOrigin(t *testing.T) {
	l := &logs{}
	h := SameOrigin(http.NewCrossOriginProtection(), l, teapot)
	for header, want := range map[[2]string]int{
		{"Sec-Fetch-Site", "cross-site"}:  http.StatusForbidden,
		{"Sec-Fetch-Site", "same-site"}:   http.StatusForbidden,
		{"Origin", "http://evil.example"}: http.StatusForbidden,
		{"Sec-Fetch-Site", "same-origin"}: http.StatusTeapot,
		{"Origin", "http://example.com"}:  http.StatusTeapot,
		{"", ""}:                          http.StatusTeapot,
	} {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		if header[0] != "" {
			req.Header.Set(header[0], header[1])
		}
		rec := httptest.NewRecorder()
		h(rec, req)
		assert.Equal(t, want, rec.Code, "%v", header)
	}
	assert.Len(t, l.lines, 3, "every refusal is logged")

	// A nil protection is the default one, never none.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	SameOrigin(nil, l, teapot)(rec, req)
	assert.Equal(t, http.StatusForbidden, rec.Code)
}
