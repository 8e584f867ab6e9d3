package query

import (
	"encoding/json"
	"fmt"
)

// Humanizer turns a value read from a table into text a person can read.
type Humanizer interface {
	Humanize(value interface{}) (string, error)
}

// HumanizerFunc lets a plain function be a Humanizer.
type HumanizerFunc func(value interface{}) (string, error)

// Humanize calls fn.
func (fn HumanizerFunc) Humanize(value interface{}) (string, error) { return fn(value) }

// DefaultHumanizer shows values as indented JSON, which reads well for the
// structs and scalars codecs usually decode to.
func DefaultHumanizer() Humanizer {
	return HumanizerFunc(func(value interface{}) (string, error) {
		text, err := json.MarshalIndent(value, "", "  ")
		if err != nil {
			return "", fmt.Errorf("query: encoding %T as JSON: %w", value, err)
		}
		return string(text), nil
	})
}
