package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// switchable is a Checker whose answers the test sets.
type switchable struct{ live, ready error }

func (s *switchable) Live(context.Context) error  { return s.live }
func (s *switchable) Ready(context.Context) error { return s.ready }

// Both probes answer GET and HEAD, never from a cache, and refuse the other
// methods; their status follows the checks, and a joined error is one
// problem a line.
func TestProbesOverHTTP(t *testing.T) {
	router := mux.NewRouter()
	probes := NewServer("/ops/", router, WithLogger(discard{}))
	assert.Equal(t, "/ops", probes.BasePath())
	srv := httptest.NewServer(router)
	defer srv.Close()

	p := request(t, http.MethodGet, srv.URL+"/ops/readyz")
	assert.Equal(t, http.StatusOK, p.status, "nothing attached: nothing failing")
	assert.JSONEq(t, `{"ready":true,"checks":[]}`, p.body)

	worker := &switchable{}
	require.NoError(t, probes.Attach("worker", worker))
	require.ErrorIs(t, probes.Attach("worker", worker), ErrDuplicateCheck)
	require.NoError(t, probes.Attach("cache", CheckFuncs{}))

	for _, path := range []string{"/ops/healthz", "/ops/readyz"} {
		p := request(t, http.MethodGet, srv.URL+path)
		assert.Equal(t, http.StatusOK, p.status, path)
		assert.Equal(t, "no-store", p.header.Get("Cache-Control"), path)
		assert.Equal(t, "application/json", p.header.Get("Content-Type"), path)

		p = request(t, http.MethodHead, srv.URL+path)
		assert.Equal(t, http.StatusOK, p.status, path)
		assert.Empty(t, p.body, path)

		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			p = request(t, method, srv.URL+path)
			assert.Equal(t, http.StatusMethodNotAllowed, p.status, "%s %s", method, path)
			assert.Equal(t, "GET, HEAD", p.header.Get("Allow"))
		}
	}

	worker.ready = errors.Join(
		&LagError{Kind: "input", Topic: "clicks", Partition: 3, Lag: 1523, MaxLag: 1000},
		fmt.Errorf("%w: partition 1: table t is recovering", ErrNotRecovered),
	)
	p = request(t, http.MethodGet, srv.URL+"/ops/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, p.status)
	assert.JSONEq(t, `{"ready":false,"checks":[
		{"name":"worker","ready":false,"problems":[
			"partition 3: input clicks lags 1523 messages (limit 1000)",
			"health: not recovered: partition 1: table t is recovering"]},
		{"name":"cache","ready":true}]}`, p.body)
	assert.Equal(t, http.StatusServiceUnavailable, request(t, http.MethodHead, srv.URL+"/ops/readyz").status)
	assert.Equal(t, http.StatusOK, request(t, http.MethodGet, srv.URL+"/ops/healthz").status, "readiness does not touch liveness")

	worker.live = errors.New("wedged")
	p = request(t, http.MethodGet, srv.URL+"/ops/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, p.status)
	assert.JSONEq(t, `{"live":false,"checks":[{"name":"worker","live":false,"problems":["wedged"]},{"name":"cache","live":true}]}`, p.body)
}

// Liveness and Readiness serve on any mux, here net/http's.
func TestHandlersOnAServeMux(t *testing.T) {
	probes := New()
	require.NoError(t, probes.Attach("worker", &switchable{ready: ErrNotRecovered}))
	mux := http.NewServeMux()
	mux.Handle("/livez", probes.Liveness())
	mux.Handle("/ready", probes.Readiness())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	assert.Equal(t, http.StatusOK, request(t, http.MethodGet, srv.URL+"/livez").status)
	assert.Equal(t, http.StatusServiceUnavailable, request(t, http.MethodGet, srv.URL+"/ready").status)
}

// The authenticator guards both probes.
func TestAuthenticatorGuardsTheProbes(t *testing.T) {
	router := mux.NewRouter()
	NewServer("", router, WithLogger(discard{}), WithAuthenticator(func(r *http.Request) error {
		if r.Header.Get("X-Probe-Token") != "secret" {
			return errors.New("no probe token")
		}
		return nil
	}))
	for _, path := range []string{"/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, http.StatusUnauthorized, rec.Code, path)

		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Probe-Token", "secret")
		rec = httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.Code, path)
	}
}

// A lag over the limit in time only: few messages waiting, but the last
// one taken is old.
func TestLagLimits(t *testing.T) {
	c := newCheckConfig("x", []CheckOption{WithMaxLag(100), WithMaxDelay(time.Minute)})
	assert.NoError(t, c.lagging("input", "t", 0, 100, 0))
	assert.NoError(t, c.lagging("input", "t", 0, 0, 2*time.Minute), "nothing waiting: never late")
	err := c.lagging("input", "t", 0, 3, 2*time.Minute)
	require.ErrorIs(t, err, ErrLagging)
	assert.EqualError(t, err, "partition 0: input t lags 3 messages, the last taken 2m0s old (limit 1m0s)")
	assert.EqualError(t, c.lagging("input", "t", 2, 101, 0), "partition 2: input t lags 101 messages (limit 100)")

	off := newCheckConfig("x", []CheckOption{WithMaxLag(-1)})
	assert.NoError(t, off.lagging("input", "t", 0, 1<<40, 2*time.Minute), "limits off")
	assert.Equal(t, DefaultMaxLag, newCheckConfig("x", nil).maxLag)
}
