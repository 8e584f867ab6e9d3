package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
)

// files are the templates, one directory per component plus common/.
//
//go:embed common/*.go.html monitor/*.go.html query/*.go.html actions/*.go.html index/*.go.html
var files embed.FS

// Loader returns the text of a template file. LoadTemplates reads through
// DefaultLoader; to serve customised templates, replace it with
// NewFSLoader(os.DirFS(dir)).
type Loader interface {
	LoadTemplates(filename string) (string, error)
}

// DefaultLoader is the loader LoadTemplates reads through. It has goka's
// type, *EmbedLoader, so programs that assign it keep compiling.
var DefaultLoader = NewEmbedLoader()

// EmbedLoader reads templates from a file system: the one compiled into this
// package, or one given to NewFSLoader.
type EmbedLoader struct {
	fsys fs.FS // nil: the compiled-in files
}

// NewEmbedLoader returns a loader of the compiled-in templates.
func NewEmbedLoader() *EmbedLoader { return &EmbedLoader{} }

// NewFSLoader returns a loader that reads the templates from fsys instead,
// under the same names ("monitor/index.go.html"), for customised pages.
func NewFSLoader(fsys fs.FS) *EmbedLoader { return &EmbedLoader{fsys: fsys} }

// LoadTemplates returns the compiled-in file named by the last directory and
// the base name of filename: the rest of the path is ignored, because callers
// name files relative to a source tree that need not exist at run time.
func (l *EmbedLoader) LoadTemplates(filename string) (string, error) {
	name := path.Join(filepath.Base(filepath.Dir(filename)), filepath.Base(filename))
	var fsys fs.FS = files
	if l.fsys != nil {
		fsys = l.fsys
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return "", fmt.Errorf("templates: load %s: %w", filename, err)
	}
	return string(data), nil
}
