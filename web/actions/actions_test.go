package actions

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitLimit = 10 * time.Second

type discard struct{}

func (discard) Print(...interface{})          {}
func (discard) Println(...interface{})        {}
func (discard) Printf(string, ...interface{}) {}

func newServer(t *testing.T) (*Server, *mux.Router) {
	router := mux.NewRouter()
	return NewServer("/actions", router, WithLogger(discard{})), router
}

// post submits a form and returns the status and the error carried by the
// redirect ("" when none).
func post(t *testing.T, h http.Handler, path, value string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(url.Values{"value": {value}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		return rec.Code, ""
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "/actions/", loc.Path)
	return rec.Code, loc.Query().Get("error")
}

func getPage(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, string(body)
}

// waitEnded waits until the latest run of name has ended.
func waitEnded(t *testing.T, s *Server, name string) {
	t.Helper()
	a, err := s.action(name)
	require.NoError(t, err)
	a.mu.Lock()
	done := a.done
	a.mu.Unlock()
	require.NotNil(t, done, "never started")
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatalf("%s did not end", name)
	}
}

// blocker is an actor that runs until cancelled and reports what it saw.
type blocker struct {
	started chan string
	ended   chan struct{}
}

func newBlocker() *blocker {
	return &blocker{started: make(chan string, 1), ended: make(chan struct{})}
}

func (b *blocker) RunAction(ctx context.Context, value string) error {
	b.started <- value
	<-ctx.Done()
	close(b.ended)
	return ctx.Err()
}

func (b *blocker) Description() string { return "blocks until stopped" }

func TestStartStop(t *testing.T) {
	s, router := newServer(t)
	b := newBlocker()
	require.NoError(t, s.AttachAction("block", b))

	code, msg := post(t, router, "/actions/start/block", "42")
	require.Equal(t, http.StatusSeeOther, code)
	require.Empty(t, msg)
	select {
	case v := <-b.started:
		assert.Equal(t, "42", v)
	case <-time.After(waitLimit):
		t.Fatal("action did not start")
	}

	code, body := getPage(t, router, "/actions/")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `<span class="state running">running</span>`)
	assert.Contains(t, body, `action="/actions/stop/block"`)
	assert.Contains(t, body, `value 42`)
	assert.Contains(t, body, "blocks until stopped")

	_, msg = post(t, router, "/actions/start/block", "43")
	assert.Contains(t, msg, "already running", "a running action is not started twice")

	_, msg = post(t, router, "/actions/stop/block", "")
	require.Empty(t, msg)
	select {
	case <-b.ended:
	default:
		t.Fatal("stop returned before the action ended")
	}

	_, body = getPage(t, router, "/actions")
	assert.Contains(t, body, `<span class="state">idle</span>`)
	assert.Contains(t, body, `action="/actions/start/block"`)
	assert.Contains(t, body, context.Canceled.Error())

	_, msg = post(t, router, "/actions/stop/block", "")
	assert.Contains(t, msg, "not running")

	// It can run again.
	b.ended = make(chan struct{})
	_, msg = post(t, router, "/actions/start/block", "again")
	require.Empty(t, msg)
	assert.Equal(t, "again", <-b.started)
	_, msg = post(t, router, "/actions/stop/block", "")
	require.Empty(t, msg)
}

func TestRefusalsRedirectWithError(t *testing.T) {
	s, router := newServer(t)
	require.NoError(t, s.AttachFuncAction("noop", "does nothing", func(context.Context, string) error { return nil }))

	_, msg := post(t, router, "/actions/start/missing", "")
	assert.Contains(t, msg, ErrUnknownAction.Error())
	_, msg = post(t, router, "/actions/stop/missing", "")
	assert.Contains(t, msg, ErrUnknownAction.Error())
	_, msg = post(t, router, "/actions/stop/noop", "")
	assert.Contains(t, msg, ErrNotRunning.Error())

	// The page shows the error it was sent back with, escaped.
	code, body := getPage(t, router, "/actions/?error="+url.QueryEscape("<b>nope</b>"))
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `<div class="banner error" id="error-banner" role="alert">&lt;b&gt;nope&lt;/b&gt;</div>`)
}

func TestOnlyPostStartsAndStops(t *testing.T) {
	s, router := newServer(t)
	require.NoError(t, s.AttachFuncAction("noop", "", func(context.Context, string) error { return nil }))
	for _, path := range []string{"/actions/start/noop", "/actions/stop/noop"} {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, path)
		assert.Equal(t, "POST", rec.Header().Get("Allow"))
	}
	a, err := s.action("noop")
	require.NoError(t, err)
	assert.Nil(t, a.done, "a GET must not start an action")
}

func TestResultsAreShown(t *testing.T) {
	s, router := newServer(t)
	require.NoError(t, s.AttachFuncAction("fail", "always fails", func(context.Context, string) error {
		return errors.New("boom")
	}))
	require.NoError(t, s.AttachFuncAction("panic", "panics", func(context.Context, string) error {
		panic("oops")
	}))
	require.NoError(t, s.AttachFuncAction("ok", "succeeds", func(context.Context, string) error { return nil }))

	for _, name := range []string{"fail", "panic", "ok"} {
		_, msg := post(t, router, "/actions/start/"+name, "")
		require.Empty(t, msg, name)
		waitEnded(t, s, name)
	}
	_, body := getPage(t, router, "/actions/")
	assert.Contains(t, body, `<span class="state failed">boom</span>`)
	assert.Contains(t, body, `<span class="state failed">actions: panic panicked: oops</span>`)
	assert.Contains(t, body, `<span class="muted">ok</span>`)
	// Sorted by name.
	assert.Less(t, strings.Index(body, `data-action="fail"`), strings.Index(body, `data-action="ok"`))
	assert.Less(t, strings.Index(body, `data-action="ok"`), strings.Index(body, `data-action="panic"`))
}

func TestPanicError(t *testing.T) {
	cause := errors.New("cause")
	err := error(&PanicError{Action: "a", Value: cause})
	assert.ErrorIs(t, err, cause)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "a", pe.Action)
	assert.NoError(t, (&PanicError{Value: "text"}).Unwrap())
}

func TestStopGivesUpWithTheCaller(t *testing.T) {
	s, _ := newServer(t)
	release := make(chan struct{})
	started := make(chan struct{})
	require.NoError(t, s.AttachFuncAction("stubborn", "ignores cancellation", func(context.Context, string) error {
		close(started)
		<-release
		return nil
	}))
	a, err := s.action("stubborn")
	require.NoError(t, err)
	require.NoError(t, a.start(""))
	<-started

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = a.stop(ctx)
	require.ErrorIs(t, err, context.Canceled)

	close(release)
	waitEnded(t, s, "stubborn")
	assert.ErrorIs(t, a.stop(context.Background()), ErrNotRunning)
}

func TestConcurrentStartsRunOnce(t *testing.T) {
	s, _ := newServer(t)
	b := newBlocker()
	require.NoError(t, s.AttachAction("block", b))
	a, err := s.action("block")
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- a.start("")
		}()
	}
	wg.Wait()
	close(errs)
	var ok, refused int
	for err := range errs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, ErrRunning)
			refused++
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, 7, refused)
	<-b.started
	require.NoError(t, a.stop(context.Background()))
}

func TestAttach(t *testing.T) {
	s, router := newServer(t)
	assert.Equal(t, "/actions", s.BasePath())
	_, body := getPage(t, router, "/actions/")
	assert.Contains(t, body, "No action is attached.")

	require.NoError(t, s.AttachAction("x", FuncActor("first", func(context.Context, string) error { return nil })))
	err := s.AttachFuncAction("x", "second", func(context.Context, string) error { return nil })
	require.ErrorIs(t, err, ErrDuplicateAction)

	var got string
	actor := FuncActor("describes", func(_ context.Context, v string) error { got = v; return nil })
	assert.Equal(t, "describes", actor.Description())
	require.NoError(t, actor.RunAction(context.Background(), "v"))
	assert.Equal(t, "v", got)
}
