// Package query serves a web page that reads single keys from tables: from a
// processor's group table (Processor.Get) or a view (View.Get), or any other
// goka.Getter attached under a name.
//
// Routes, below the base path:
//
//	/                 a form to pick a source and type a key
//	/{name}           the form with source name selected
//	/{name}/{key}     the value of key in source name; the key may contain
//	                  slashes and is trimmed of surrounding white space
//
// An unknown source or an absent key answers 404, a failing getter 500, each
// with the page and a message, so that scripts can tell the cases apart.
//
// # Security
//
// Whoever reaches the page reads any key of every source attached: serve it
// on a trusted network only (bind to localhost, or put it behind a proxy that
// authenticates), and give WithAuthenticator to check every request. Nothing
// here changes state, and every route answers only GET and HEAD.
package query

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/internal/page"
)

// ErrDuplicateSource is wrapped by AttachSource when the name is taken.
var ErrDuplicateSource = errors.New("query: source already attached")

var files = []string{"web/templates/query/index.go.html"}

// Server serves the query page of the sources attached to it. It is safe for
// concurrent use.
type Server struct {
	log       goka.Logger
	basePath  string
	humanizer Humanizer
	auth      func(*http.Request) error

	mu      sync.RWMutex
	sources map[string]goka.Getter
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of template errors and refused requests; the
// default is goka.DefaultLogger().
func WithLogger(l goka.Logger) Option {
	return func(s *Server) { s.log = l }
}

// WithHumanizer sets how values are shown; the default is DefaultHumanizer.
func WithHumanizer(h Humanizer) Option {
	return func(s *Server) { s.humanizer = h }
}

// WithAuthenticator makes every route (the form and every read) call auth first and serve the
// request only when it returns nil. A refusal answers 401 Unauthorized, or
// 403 Forbidden when the error wraps fs.ErrPermission; an error that is also
// an http.Handler answers the request itself (to send WWW-Authenticate, say).
// The error is logged, not shown. auth is called concurrently. It is also the
// place to check r.Host against the names the server is meant to be reached
// by, which defeats DNS rebinding.
func WithAuthenticator(auth func(*http.Request) error) Option {
	return func(s *Server) { s.auth = auth }
}

// NewServer mounts the query page on router under basePath.
func NewServer(basePath string, router *mux.Router, opts ...Option) *Server {
	s := &Server{
		log:       goka.DefaultLogger(),
		basePath:  basePath,
		humanizer: DefaultHumanizer(),
		sources:   make(map[string]goka.Getter),
	}
	for _, opt := range opts {
		opt(s)
	}
	sub := router.PathPrefix(basePath).Subrouter()
	read := func(h http.HandlerFunc) http.HandlerFunc { return page.Authenticate(s.auth, s.log, page.Read(h)) }
	if basePath != "" && basePath != "/" {
		sub.HandleFunc("", read(s.index))
	}
	sub.HandleFunc("/", read(s.index))
	sub.HandleFunc("/{name}", read(s.source))
	sub.HandleFunc("/{name}/{key:.*}", read(s.key))
	return s
}

// BasePath returns the path the server is mounted under.
func (s *Server) BasePath() string { return s.basePath }

// AttachSource makes getter queryable under name, for example
// AttachSource("user-clicks", processor.Get). A name can be attached once.
func (s *Server) AttachSource(name string, getter goka.Getter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sources[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateSource, name)
	}
	s.sources[name] = getter
	return nil
}

func (s *Server) getter(name string) goka.Getter {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sources[name]
}

func (s *Server) names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.sources))
	for name := range s.sources {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

type queryPage struct {
	page.Page
	FormURL  string
	Sources  []string
	Selected string
	Key      string
	Warning  string
	Found    bool
	Type     string
	Value    string
}

func (s *Server) newPage() queryPage {
	data := queryPage{
		Page:    page.Page{Title: "Query", Menu: []page.Link{{Name: "Query", Href: page.Root(s.basePath), Active: true}}},
		FormURL: page.Root(s.basePath),
		Sources: s.names(),
	}
	if len(data.Sources) > 0 {
		data.Selected = data.Sources[0]
	}
	return data
}

// index shows the form. The form submits here with source and key, since a
// plain HTML form cannot build the /{name}/{key} path; such a request is
// redirected to that path, which is the one to bookmark.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if name := r.URL.Query().Get("source"); name != "" {
		target := page.URL(s.basePath, name)
		if key := strings.TrimSpace(r.URL.Query().Get("key")); key != "" {
			target = page.URL(s.basePath, name, key)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	page.Render(w, s.log, http.StatusOK, s.newPage(), files...)
}

func (s *Server) source(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	data := s.newPage()
	if s.getter(name) == nil {
		data.Error = fmt.Sprintf("Source %q is not attached.", name)
		page.Render(w, s.log, http.StatusNotFound, data, files...)
		return
	}
	data.Selected = name
	page.Render(w, s.log, http.StatusOK, data, files...)
}

func (s *Server) key(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	name, key := vars["name"], strings.TrimSpace(vars["key"])
	if key == "" {
		s.source(w, r)
		return
	}
	data := s.newPage()
	data.Key = key
	get := s.getter(name)
	if get == nil {
		data.Error = fmt.Sprintf("Source %q is not attached.", name)
		page.Render(w, s.log, http.StatusNotFound, data, files...)
		return
	}
	data.Selected = name
	value, err := get(key)
	if err != nil {
		data.Error = fmt.Sprintf("Reading %q from %s failed: %v", key, name, err)
		page.Render(w, s.log, http.StatusInternalServerError, data, files...)
		return
	}
	if value == nil {
		data.Warning = fmt.Sprintf("Key %q is not in %s.", key, name)
		page.Render(w, s.log, http.StatusNotFound, data, files...)
		return
	}
	text, err := s.humanizer.Humanize(value)
	if err != nil {
		data.Error = fmt.Sprintf("Showing the value of %q failed: %v", key, err)
		page.Render(w, s.log, http.StatusInternalServerError, data, files...)
		return
	}
	data.Found, data.Type, data.Value = true, fmt.Sprintf("%T", value), text
	page.Render(w, s.log, http.StatusOK, data, files...)
}
