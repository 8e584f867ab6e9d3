package query

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every route asks the authenticator first; an unauthenticated request reads
// nothing from the sources.
func TestAuthenticatorGuardsEveryRoute(t *testing.T) {
	router := mux.NewRouter()
	s := NewServer("/query", router, WithAuthenticator(func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer secret" {
			return errors.New("no valid token")
		}
		return nil
	}))
	var reads atomic.Int64
	require.NoError(t, s.AttachSource("users", func(string) (interface{}, error) {
		reads.Add(1)
		return "ada", nil
	}))
	for path, authorised := range map[string]int{
		"/query":                       http.StatusOK,
		"/query/":                      http.StatusOK,
		"/query/?source=users&key=ada": http.StatusSeeOther,
		"/query/users":                 http.StatusOK,
		"/query/users/ada":             http.StatusOK,
	} {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, http.StatusUnauthorized, rec.Code, path)
		assert.Zero(t, reads.Load(), "an unauthenticated request read a source")

		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer secret")
		rec = httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		assert.Equal(t, authorised, rec.Code, path)
		reads.Store(0)
	}
}
