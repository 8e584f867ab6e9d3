package templates

import (
	"embed"
	"fmt"
	"path"
	"path/filepath"
)

// files are the templates, one directory per component plus common/.
//
//go:embed common/*.go.html monitor/*.go.html query/*.go.html actions/*.go.html index/*.go.html
var files embed.FS

// Loader returns the text of a template file. Replace DefaultLoader with
// another Loader to serve customised templates.
type Loader interface {
	LoadTemplates(filename string) (string, error)
}

// DefaultLoader is the Loader LoadTemplates reads through.
var DefaultLoader Loader = NewEmbedLoader()

// EmbedLoader reads the templates compiled into this package.
type EmbedLoader struct{}

// NewEmbedLoader returns a loader of the compiled-in templates.
func NewEmbedLoader() *EmbedLoader { return &EmbedLoader{} }

// LoadTemplates returns the compiled-in file named by the last directory and
// the base name of filename: the rest of the path is ignored, because callers
// name files relative to a source tree that need not exist at run time.
func (l *EmbedLoader) LoadTemplates(filename string) (string, error) {
	name := path.Join(filepath.Base(filepath.Dir(filename)), filepath.Base(filename))
	data, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("templates: load %s: %w", filename, err)
	}
	return string(data), nil
}
