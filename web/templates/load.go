package templates

import (
	"fmt"
	"html/template"
)

// BaseTemplates are the files of the page skeleton that every component page
// starts from; append the component's own file to them.
var BaseTemplates = []string{
	"web/templates/common/base.go.html",
	"web/templates/common/head.go.html",
	"web/templates/common/menu.go.html",
}

// LoadTemplates reads the files through DefaultLoader and parses them, in the
// given order, into one template named "base". Files define named templates
// with {{define}}; the top-level text of the first file that has some is the
// page.
func LoadTemplates(filenames ...string) (*template.Template, error) {
	tmpl := template.New("base")
	for _, name := range filenames {
		text, err := DefaultLoader.LoadTemplates(name)
		if err != nil {
			return nil, err
		}
		if _, err := tmpl.Parse(text); err != nil {
			return nil, fmt.Errorf("templates: parse %s: %w", name, err)
		}
	}
	return tmpl, nil
}
