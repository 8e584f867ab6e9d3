package monitor

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
)

// Every route asks the authenticator first, the script included: a page
// that needs credentials should not half load.
func TestAuthenticatorGuardsEveryRoute(t *testing.T) {
	router := mux.NewRouter()
	NewServer("/monitor", router, WithLogger(discard{}), WithAuthenticator(func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer secret" {
			return errors.New("no valid token")
		}
		return nil
	}))
	for path, authorised := range map[string]int{
		"/monitor":                   http.StatusOK,
		"/monitor/":                  http.StatusOK,
		"/monitor/processor/0":       http.StatusNotFound,
		"/monitor/view/0":            http.StatusNotFound,
		"/monitor/data/processor/0":  http.StatusNotFound,
		"/monitor/data/view/0":       http.StatusNotFound,
		"/monitor/static/monitor.js": http.StatusOK,
	} {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, http.StatusUnauthorized, rec.Code, path)

		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer secret")
		rec = httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		assert.Equal(t, authorised, rec.Code, path)
	}
}
