// Package actions serves a web page from which an operator starts and stops
// long-running tasks of a program, such as a Processor.VisitAll over every
// key.
//
// Routes, below the base path:
//
//	GET  /                the actions, their state and last result
//	POST /start/{action}  start it with the form field "value"
//	POST /stop/{action}   cancel it and wait until it has ended
//
// Start and stop redirect to the page, with ?error=… when they were refused:
// an unknown action, starting one that runs, stopping one that does not.
// Each run has its own goroutine and a context that Stop cancels; the
// goroutine ends when the actor returns, so nothing outlives a run.
//
// # Security
//
// The page is a remote control: whoever reaches it can start and stop what is
// attached. Serve it on a trusted network only (bind to localhost, or put it
// behind a proxy that authenticates), and give WithAuthenticator to check
// every request. Two rules hold without configuration: only POST starts or
// stops anything (a GET answers 405), and a POST that a browser sent on
// behalf of another site (Sec-Fetch-Site other than same-origin or none, or
// an Origin whose host is not the request's Host) answers 403, so that a page
// an operator visits cannot start an action through the operator's browser.
// A POST with neither header is not from a current browser and is served, so
// that curl and scripts work; an authenticator is what stops those. Behind a
// proxy that rewrites the Host header, trust the public origin with
// WithCrossOriginProtection.
package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/internal/page"
)

var files = []string{"web/templates/actions/index.go.html"}

// Server serves the actions page. It is safe for concurrent use.
type Server struct {
	log      goka.Logger
	basePath string
	auth     func(*http.Request) error
	cop      *http.CrossOriginProtection

	mu      sync.RWMutex
	actions map[string]*action
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of action results, template errors and refused
// requests; the default is goka.DefaultLogger().
func WithLogger(l goka.Logger) Option {
	return func(s *Server) { s.log = l }
}

// WithAuthenticator makes every route (the page, start and stop) call auth
// first and serve the request only when it returns nil. A refusal answers
// 401 Unauthorized, or 403 Forbidden when the error wraps fs.ErrPermission;
// an error that is also an http.Handler answers the request itself (to send
// WWW-Authenticate, say). The error is logged, not shown. auth is called
// concurrently. It is also the place to check r.Host against the names the
// server is meant to be reached by, which defeats DNS rebinding.
func WithAuthenticator(auth func(*http.Request) error) Option {
	return func(s *Server) { s.auth = auth }
}

// WithCrossOriginProtection replaces the check that refuses cross-origin
// starts and stops, for example with one that trusts the public origin of a
// proxy that rewrites the Host header (AddTrustedOrigin). nil keeps the
// default, http.NewCrossOriginProtection(): the check cannot be switched off.
func WithCrossOriginProtection(cop *http.CrossOriginProtection) Option {
	return func(s *Server) { s.cop = cop }
}

// NewServer mounts the actions page on router under basePath.
func NewServer(basePath string, router *mux.Router, opts ...Option) *Server {
	s := &Server{log: goka.DefaultLogger(), basePath: basePath, actions: make(map[string]*action)}
	for _, opt := range opts {
		opt(s)
	}
	sub := router.PathPrefix(basePath).Subrouter()
	read := page.Authenticate(s.auth, s.log, page.Read(s.index))
	if basePath != "" && basePath != "/" {
		sub.HandleFunc("", read)
	}
	sub.HandleFunc("/", read)
	sub.HandleFunc("/start/{action:.+}", s.change(s.start))
	sub.HandleFunc("/stop/{action:.+}", s.change(s.stop))
	return s
}

// change guards a route that changes state: authenticated, POST only, and
// not on behalf of another site.
func (s *Server) change(h http.HandlerFunc) http.HandlerFunc {
	return page.Authenticate(s.auth, s.log, page.Only(page.SameOrigin(s.cop, s.log, h), http.MethodPost))
}

// BasePath returns the path the server is mounted under.
func (s *Server) BasePath() string { return s.basePath }

// AttachAction adds actor under name. A name can be attached once.
func (s *Server) AttachAction(name string, actor Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.actions[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateAction, name)
	}
	s.actions[name] = &action{name: name, actor: actor, log: s.log}
	return nil
}

// AttachFuncAction adds a function as an action; see FuncActor.
func (s *Server) AttachFuncAction(name, description string, fn func(ctx context.Context, value string) error) error {
	return s.AttachAction(name, FuncActor(description, fn))
}

func (s *Server) action(name string) (*action, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.actions[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAction, name)
	}
	return a, nil
}

type actionsPage struct {
	page.Page
	Actions []status
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	list := make([]status, 0, len(s.actions))
	for _, a := range s.actions {
		st := a.status()
		st.StartURL = page.URL(s.basePath, "start", a.name)
		st.StopURL = page.URL(s.basePath, "stop", a.name)
		list = append(list, st)
	}
	s.mu.RUnlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })

	data := actionsPage{
		Page: page.Page{
			Title: "Actions",
			Menu:  []page.Link{{Name: "Actions", Href: page.Root(s.basePath), Active: true}},
			Error: r.URL.Query().Get("error"),
		},
		Actions: list,
	}
	page.Render(w, s.log, http.StatusOK, data, files...)
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	a, err := s.action(mux.Vars(r)["action"])
	if err == nil {
		err = a.start(r.FormValue("value"))
	}
	s.redirect(w, r, err)
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	a, err := s.action(mux.Vars(r)["action"])
	if err == nil {
		err = a.stop(r.Context())
	}
	s.redirect(w, r, err)
}

// redirect sends the browser back to the page after a form was posted (303:
// reloading the page must not post again), carrying a refusal in ?error=.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, err error) {
	target := page.Root(s.basePath)
	if err != nil {
		if !errors.Is(err, ErrRunning) && !errors.Is(err, ErrNotRunning) && !errors.Is(err, ErrUnknownAction) {
			s.log.Printf("%v", err)
		}
		target += "?" + url.Values{"error": {err.Error()}}.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
