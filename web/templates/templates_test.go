package templates

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmbedLoaderUsesLastDirectoryAndName(t *testing.T) {
	tests := []struct {
		name     string
		filename string
		contains string
	}{
		{"goka's path", "web/templates/monitor/index.go.html", `define "content"`},
		{"any prefix", "/somewhere/else/index/index.go.html", `id="components"`},
		{"bare", "common/base.go.html", "<!DOCTYPE html>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, err := NewEmbedLoader().LoadTemplates(tc.filename)
			require.NoError(t, err)
			assert.Contains(t, text, tc.contains)
		})
	}
}

func TestEmbedLoaderMissingFile(t *testing.T) {
	_, err := NewEmbedLoader().LoadTemplates("web/templates/monitor/missing.go.html")
	require.Error(t, err)
	assert.True(t, errors.Is(err, fs.ErrNotExist), "error %v should wrap fs.ErrNotExist", err)
}

func TestEveryComponentPageParsesOnTheSkeleton(t *testing.T) {
	pages := [][]string{
		{"web/templates/monitor/edges.go.html", "web/templates/monitor/index.go.html"},
		{"web/templates/monitor/edges.go.html", "web/templates/monitor/details.go.html"},
		{"web/templates/query/index.go.html"},
		{"web/templates/actions/index.go.html"},
		{"web/templates/index/index.go.html"},
	}
	for _, files := range pages {
		t.Run(files[len(files)-1], func(t *testing.T) {
			tmpl, err := LoadTemplates(append(append([]string(nil), BaseTemplates...), files...)...)
			require.NoError(t, err)
			assert.Equal(t, "base", tmpl.Name())
			for _, name := range []string{"head", "menu", "content"} {
				assert.NotNil(t, tmpl.Lookup(name), "template %q", name)
			}
		})
	}
}

func TestLoadTemplatesReadsThroughDefaultLoader(t *testing.T) {
	old := DefaultLoader
	t.Cleanup(func() { DefaultLoader = old })
	DefaultLoader = NewFSLoader(fstest.MapFS{
		"a.html": {Data: []byte(`<p>{{template "x" .}}</p>`)},
		"b.html": {Data: []byte(`{{define "x"}}hello {{.}}{{end}}`)},
	})

	tmpl, err := LoadTemplates("a.html", "b.html")
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, tmpl.Execute(&out, "<world>"))
	assert.Equal(t, "<p>hello &lt;world&gt;</p>", out.String())

	_, err = LoadTemplates("a.html", "missing.html")
	require.ErrorIs(t, err, fs.ErrNotExist)

	DefaultLoader = NewFSLoader(fstest.MapFS{"bad.html": {Data: []byte(`{{if}}`)}})
	_, err = LoadTemplates("bad.html")
	require.ErrorContains(t, err, "parse bad.html")
}
