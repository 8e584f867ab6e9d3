package index

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
)

// The start page asks the authenticator first, at any base path.
func TestAuthenticatorGuardsEveryRoute(t *testing.T) {
	auth := WithAuthenticator(func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer secret" {
			return errors.New("no valid token")
		}
		return nil
	})
	for base, paths := range map[string][]string{"/index": {"/index", "/index/"}, "/": {"/"}} {
		router := mux.NewRouter()
		NewServer(base, router, auth)
		for _, path := range paths {
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			assert.Equal(t, http.StatusUnauthorized, rec.Code, path)

			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer secret")
			rec = httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusOK, rec.Code, path)
		}
	}
}
