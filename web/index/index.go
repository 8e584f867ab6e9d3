// Package index serves a start page that links the other web components
// (monitor, query, actions) mounted on the same router.
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

	mu         sync.RWMutex
	components []page.Link
}

// NewServer mounts the start page on router at basePath. With a base path of
// "/" it answers only "/" itself, so the other components may be mounted
// before or after it.
func NewServer(basePath string, router *mux.Router) *Server {
	s := &Server{log: goka.DefaultLogger(), basePath: basePath}
	sub := router.PathPrefix(basePath).Subrouter()
	if basePath != "" && basePath != "/" {
		sub.HandleFunc("", page.Read(s.index))
	}
	sub.HandleFunc("/", page.Read(s.index))
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
