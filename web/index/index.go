// Package index serves a start page that links the other web components
// (monitor, query, actions) mounted on the same router.
//
// Like the components it links, it belongs on a trusted network; give
// WithAuthenticator to check every request.
package index

import (
	"net/http"
	"sync"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/internal/page"
)

var files = []string{"web/templates/index/index.go.html"}

// ComponentPathProvider is a component to link: every server of the web
// packages is one.
type ComponentPathProvider interface {
	BasePath() string
}

// Server serves the start page. It is safe for concurrent use.
type Server struct {
	log      goka.Logger
	basePath string
	auth     func(*http.Request) error

	mu         sync.RWMutex
	components []page.Link
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of template errors and refused requests; the
// default is goka.DefaultLogger().
func WithLogger(l goka.Logger) Option {
	return func(s *Server) { s.log = l }
}

// WithAuthenticator makes every route (here the start page) call auth first and serve the
// request only when it returns nil. A refusal answers 401 Unauthorized, or
// 403 Forbidden when the error wraps fs.ErrPermission; an error that is also
// an http.Handler answers the request itself (to send WWW-Authenticate, say).
// The error is logged, not shown. auth is called concurrently. It is also the
// place to check r.Host against the names the server is meant to be reached
// by, which defeats DNS rebinding.
func WithAuthenticator(auth func(*http.Request) error) Option {
	return func(s *Server) { s.auth = auth }
}

// NewServer mounts the start page on router at basePath. With a base path of
// "/" it answers only "/" itself, so the other components may be mounted
// before or after it.
func NewServer(basePath string, router *mux.Router, opts ...Option) *Server {
	s := &Server{log: goka.DefaultLogger(), basePath: basePath}
	for _, opt := range opts {
		opt(s)
	}
	sub := router.PathPrefix(basePath).Subrouter()
	read := page.Authenticate(s.auth, s.log, page.Read(s.index))
	if basePath != "" && basePath != "/" {
		sub.HandleFunc("", read)
	}
	sub.HandleFunc("/", read)
	return s
}

// BasePath returns the path the server is mounted under.
func (s *Server) BasePath() string { return s.basePath }

// AddComponent links the component under name, in the order added.
func (s *Server) AddComponent(pathProvider ComponentPathProvider, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.components = append(s.components, page.Link{Name: name, Href: page.Root(pathProvider.BasePath())})
}

type indexPage struct {
	page.Page
	Components []page.Link
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	components := append([]page.Link(nil), s.components...)
	s.mu.RUnlock()
	data := indexPage{
		Page: page.Page{
			Title: "goka",
			Menu:  append([]page.Link{{Name: "Index", Href: page.Root(s.basePath), Active: true}}, components...),
		},
		Components: components,
	}
	page.Render(w, s.log, http.StatusOK, data, files...)
}
