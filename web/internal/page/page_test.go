package page

import (
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/seed-b2c684ed/goka/web/templates"
	"github.com/stretchr/testify/assert"
)

func TestURL(t *testing.T) {
	tests := []struct {
		base  string
		elems []string
		want  string
	}{
		{"/monitor", nil, "/monitor"},
		{"/monitor", []string{"processor", "0"}, "/monitor/processor/0"},
		{"/monitor/", []string{"view", "1"}, "/monitor/view/1"},
		{"/", []string{"data", "view", "0"}, "/data/view/0"},
		{"/", nil, "/"},
		{"", nil, "/"},
		{"/q", []string{"src", "a/b c"}, "/q/src/a%2Fb%20c"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, URL(tc.base, tc.elems...), "%q %q", tc.base, tc.elems)
	}
}

func TestRoot(t *testing.T) {
	tests := map[string]string{"/monitor": "/monitor/", "/monitor/": "/monitor/", "/": "/", "": "/"}
	for base, want := range tests {
		assert.Equal(t, want, Root(base), base)
	}
}

func TestOnly(t *testing.T) {
	h := Only(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }, http.MethodPost)
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	assert.Equal(t, http.StatusTeapot, rec.Code)

	rec = httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "POST", rec.Header().Get("Allow"))

	teapot := Read(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for method, want := range map[string]int{
		http.MethodGet:  http.StatusTeapot,
		http.MethodHead: http.StatusTeapot,
		http.MethodPost: http.StatusMethodNotAllowed,
	} {
		rec = httptest.NewRecorder()
		teapot(rec, httptest.NewRequest(method, "/", nil))
		assert.Equal(t, want, rec.Code, method)
		if want == http.StatusMethodNotAllowed {
			assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
		}
	}
}

type logs struct{ lines []string }

func (l *logs) Print(v ...interface{})   {}
func (l *logs) Println(v ...interface{}) {}
func (l *logs) Printf(format string, v ...interface{}) {
	l.lines = append(l.lines, format)
}

// memLoader serves templates from memory, under the names the template
// loader looks them up by (the last directory and the file name).
func memLoader(files map[string]string) *templates.EmbedLoader {
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[path.Join(filepath.Base(filepath.Dir(name)), filepath.Base(name))] = &fstest.MapFile{Data: []byte(text)}
	}
	return templates.NewFSLoader(fsys)
}

func TestRender(t *testing.T) {
	old := templates.DefaultLoader
	t.Cleanup(func() { templates.DefaultLoader = old })
	templates.DefaultLoader = memLoader(map[string]string{
		templates.BaseTemplates[0]: `<p>{{.Title}}</p>{{template "content" .}}`,
		templates.BaseTemplates[1]: ``,
		templates.BaseTemplates[2]: ``,
		"ok.html":                  `{{define "content"}}ok{{end}}`,
		"fails.html":               `{{define "content"}}{{.Missing}}{{end}}`,
	})

	rec := httptest.NewRecorder()
	Render(rec, &logs{}, http.StatusNotFound, Page{Title: "<t>"}, "ok.html")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, "<p>&lt;t&gt;</p>ok", rec.Body.String())

	for _, file := range []string{"fails.html", "missing.html"} {
		l := &logs{}
		rec = httptest.NewRecorder()
		Render(rec, l, http.StatusOK, Page{Title: "x"}, file)
		assert.Equal(t, http.StatusInternalServerError, rec.Code, file)
		assert.False(t, strings.Contains(rec.Body.String(), "<p>"), "no half page for %s", file)
		assert.Len(t, l.lines, 1, file)
	}
}
