package actions

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bearer admits requests that carry the token.
func bearer(token string) func(*http.Request) error {
	return func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer "+token {
			return errors.New("no valid token")
		}
		return nil
	}
}

// Every route, the page and both state changes, asks the authenticator
// first; an unauthenticated request changes nothing.
func TestAuthenticatorGuardsEveryRoute(t *testing.T) {
	router := mux.NewRouter()
	s := NewServer("/actions", router, WithLogger(discard{}), WithAuthenticator(bearer("secret")))
	require.NoError(t, s.AttachFuncAction("noop", "", func(context.Context, string) error { return nil }))

	routes := []struct{ method, path string }{
		{http.MethodGet, "/actions"},
		{http.MethodGet, "/actions/"},
		{http.MethodPost, "/actions/start/noop"},
		{http.MethodPost, "/actions/stop/noop"},
		{http.MethodGet, "/actions/start/noop"},
	}
	for _, rt := range routes {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(rt.method, rt.path, nil))
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "%s %s", rt.method, rt.path)
	}
	a, err := s.action("noop")
	require.NoError(t, err)
	assert.Nil(t, a.done, "an unauthenticated request must not start an action")

	for _, rt := range routes[:2] {
		req := httptest.NewRequest(rt.method, rt.path, nil)
		req.Header.Set("Authorization", "Bearer secret")
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.Code, "%s %s", rt.method, rt.path)
	}
	req := httptest.NewRequest(http.MethodPost, "/actions/start/noop", nil)
	req.Header.Set("Authorization", "Bearer secret")
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusSeeOther, rec.Code)
	waitEnded(t, s, "noop")
}
