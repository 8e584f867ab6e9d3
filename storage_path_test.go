package goka

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A group name becomes one directory below /tmp/goka/processor, whatever it
// holds; ordinary names are kept, so existing caches are found again.
func TestDefaultProcessorStoragePathEscapesTheGroup(t *testing.T) {
	base := filepath.Join("/tmp/goka", "processor")
	for group, want := range map[Group]string{
		"example-clicks": "example-clicks",
		"../../etc":      "..%2F..%2Fetc",
		"..":             "%2E%2E",
		"a/b":            "a%2Fb",
		"/abs":           "%2Fabs",
	} {
		path := DefaultProcessorStoragePath(group)
		assert.Equal(t, base, filepath.Dir(path), "%q", group)
		assert.Equal(t, want, filepath.Base(path), "%q", group)
	}
}
