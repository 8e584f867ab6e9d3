// Package templates holds the HTML templates of the web UI (monitor, query,
// actions and index), compiled into the binary with go:embed, and the
// function that assembles a page from them.
//
// A page is the skeleton in BaseTemplates plus one component file that
// defines the "content" template. The skeleton reads these fields of the data
// it is executed with: Title (string), Menu (a list with Name, Href and
// Active) and Error (string, shown as a banner when not empty).
//
// Templates are looked up by their last directory and file name, so the
// paths goka uses ("web/templates/monitor/index.go.html") keep working no
// matter where the program runs: nothing is read from disk unless
// DefaultLoader is replaced.
package templates
