package page

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/seed-b2c684ed/goka"
)

// Authenticate wraps h so that auth decides first whether the request is
// served; with a nil auth it is h. A refusal (a non-nil error) is answered
// without calling h:
//
//   - an error that is also an http.Handler (or wraps one) answers the request
//     itself, so that an authenticator can ask a browser for credentials
//     with WWW-Authenticate, or redirect to a login page;
//   - an error wrapping fs.ErrPermission answers 403 Forbidden: the caller is
//     known but may not do this;
//   - any other answers 401 Unauthorized.
//
// The error is logged, not sent: it may say more about the credentials than
// a stranger should learn.
func Authenticate(auth func(*http.Request) error, log goka.Logger, h http.HandlerFunc) http.HandlerFunc {
	if auth == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		err := auth(r)
		if err == nil {
			h(w, r)
			return
		}
		log.Printf("web: refused %s %s from %s: %v", r.Method, r.URL.Path, r.RemoteAddr, err)
		var answer http.Handler
		switch {
		case errors.As(err, &answer):
			answer.ServeHTTP(w, r)
		case errors.Is(err, fs.ErrPermission):
			http.Error(w, "forbidden", http.StatusForbidden)
		default:
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		}
	}
}

// SameOrigin wraps a handler that changes state so that it refuses, with 403
// Forbidden, a request that a browser sent on behalf of another site: a page
// elsewhere that posts a form here. cop decides (nil is
// http.NewCrossOriginProtection()): Sec-Fetch-Site must be same-origin or
// none when the browser sends it, else the Origin's host must be the
// request's Host. A request with neither header is served: it does not come
// from a current browser, so it carries no victim's cookies or credentials to
// misuse, and curl and scripts keep working.
func SameOrigin(cop *http.CrossOriginProtection, log goka.Logger, h http.HandlerFunc) http.HandlerFunc {
	if cop == nil {
		cop = http.NewCrossOriginProtection()
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			log.Printf("web: refused %s %s from %s (Origin %q, Sec-Fetch-Site %q): %v",
				r.Method, r.URL.Path, r.RemoteAddr, r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site"), err)
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}
