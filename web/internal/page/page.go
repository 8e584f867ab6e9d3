// Package page renders the pages of the web UI components on the shared
// skeleton of package templates and builds the links between them.
package page

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/templates"
)

// Page holds the fields the skeleton template reads; component pages embed
// it.
type Page struct {
	Title string
	Menu  []Link
	Error string
}

// Link is one entry of the menu.
type Link struct {
	Name   string
	Href   string
	Active bool
}

// URL joins a component's base path and path elements, escaping each element,
// so that a base path of "/" or one with a trailing slash never yields "//",
// which a browser would read as another host.
func URL(base string, elems ...string) string {
	u := strings.TrimRight(base, "/")
	for _, e := range elems {
		u += "/" + url.PathEscape(e)
	}
	if u == "" {
		return "/"
	}
	return u
}

// Root is the base path with exactly one trailing slash: the address of a
// component's overview page.
func Root(base string) string {
	return strings.TrimRight(base, "/") + "/"
}

// Render executes the skeleton plus files with data and writes the page with
// status. The page is built in memory first, so that a template error becomes
// a clean 500 instead of half a page.
func Render(w http.ResponseWriter, log goka.Logger, status int, data any, files ...string) {
	tmpl, err := templates.LoadTemplates(append(append([]string(nil), templates.BaseTemplates...), files...)...)
	if err != nil {
		log.Printf("web: %v", err)
		http.Error(w, "loading templates failed", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		log.Printf("web: rendering %v: %v", files, err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Only answers 405 Method Not Allowed, with an Allow header, to requests whose
// method is not one of methods, and passes the others to h. Routes check
// methods here rather than with mux's Methods, because mux v1.8.1 answers 404
// instead of 405 on a subrouter with more than one route.
func Only(h http.HandlerFunc, methods ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, m := range methods {
			if r.Method == m {
				h(w, r)
				return
			}
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// Read is Only for pages: GET and HEAD.
func Read(h http.HandlerFunc) http.HandlerFunc { return Only(h, http.MethodGet, http.MethodHead) }
