package storage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// private asserts that nobody but the owner can enter or list dir. It holds
// whatever the umask is: a umask only ever removes permission bits, so bits
// for group or others can only come from the mode the directory was created
// with.
func private(t *testing.T, dir string) {
	t.Helper()
	info, err := os.Stat(dir)
	require.NoError(t, err)
	require.True(t, info.IsDir(), dir)
	assert.Zero(t, info.Mode().Perm()&0o077, "%s has mode %v: group or others have access", dir, info.Mode().Perm())
}

// The tables of a program are its data: the directories the default builder
// creates, the base path included, are the owner's alone.
func TestDefaultBuilderDirectoriesArePrivate(t *testing.T) {
	for name, build := range map[string]func(string) storage.Builder{
		"DefaultBuilder":     storage.DefaultBuilder,
		"BuilderWithOptions": func(p string) storage.Builder { return storage.BuilderWithOptions(p, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			base := filepath.Join(root, "cache", "group")
			st, err := build(base)("example-clicks-table", 3)
			require.NoError(t, err)
			require.NoError(t, st.Close())
			private(t, filepath.Join(root, "cache"))
			private(t, base)
			private(t, filepath.Join(base, "example-clicks-table.3"))
		})
	}
}

// The debugging file storage keeps the values written; its directory is
// private too.
func TestNewFileDirectoryIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "values", "group")
	st, err := storage.NewFile(dir, 0)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	private(t, filepath.Dir(dir))
	private(t, dir)
}

// A topic name reaches the file system only as one element below the base
// path, whatever it holds: no climbing out, no sub-directories, no absolute
// path.
func TestDefaultBuilderKeepsTopicsUnderTheBasePath(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "a", "base")
	build := storage.DefaultBuilder(base)
	topics := []string{"../../x", "..", ".", "a/b", "/abs", `c:\win`, `..\..\y`, "nul\x00byte", "", "ü"}
	for _, topic := range topics {
		st, err := build(topic, 0)
		require.NoError(t, err, "%q", topic)
		require.NoError(t, st.Set("k", []byte(topic)))
		require.NoError(t, st.Close())
	}
	entries, err := os.ReadDir(base)
	require.NoError(t, err)
	assert.Len(t, entries, len(topics), "one directory per topic, directly in the base path")
	for _, e := range entries {
		assert.True(t, e.IsDir(), e.Name())
	}
	// Nothing was created beside the base path or above it.
	for _, dir := range []string{root, filepath.Join(root, "a")} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1, "%s holds only the way to the base path", dir)
	}
	_, err = os.Stat("/abs.0")
	assert.True(t, os.IsNotExist(err))

	// Each topic reads back its own store.
	for _, topic := range topics {
		st, err := build(topic, 0)
		require.NoError(t, err)
		v, err := st.Get("k")
		require.NoError(t, err)
		assert.Equal(t, topic, string(v), "%q", topic)
		require.NoError(t, st.Close())
	}
}

// Escaping is injective: names that differ only in the escaped characters, or
// where one spells the other's escape, never share a store.
func TestDefaultBuilderNamesNeverCollide(t *testing.T) {
	base := t.TempDir()
	build := storage.DefaultBuilder(base)
	topics := []string{
		"b", "a/../b", "./b", "a/b", "a//b", "a%2Fb", "a%252Fb", "a_b", "a\\b", "a%5Cb",
		"a b", "a+b", "a:b", "a.b", "%", "%25",
	}
	for _, topic := range topics {
		st, err := build(topic, 1)
		require.NoError(t, err, "%q", topic)
		require.NoError(t, st.Set("owner", []byte(topic)))
		require.NoError(t, st.Close())
	}
	entries, err := os.ReadDir(base)
	require.NoError(t, err)
	assert.Len(t, entries, len(topics), "a directory each")
	for _, topic := range topics {
		st, err := build(topic, 1)
		require.NoError(t, err)
		v, err := st.Get("owner")
		require.NoError(t, err)
		assert.Equal(t, topic, string(v))
		require.NoError(t, st.Close())
	}
}

// Names Kafka allows (letters, digits, '.', '_', '-') are kept as they are,
// so that cache directories written before, by goka too, are found again.
func TestDefaultBuilderKeepsOrdinaryNames(t *testing.T) {
	base := t.TempDir()
	for _, topic := range []string{"example-clicks-table", "user_clicks.v2", "A-Z_0.9"} {
		st, err := storage.DefaultBuilder(base)(topic, 12)
		require.NoError(t, err)
		require.NoError(t, st.Close())
		_, err = os.Stat(filepath.Join(base, topic+".12"))
		assert.NoError(t, err, topic)
	}
}

func TestEscapeName(t *testing.T) {
	for in, want := range map[string]string{
		"example-clicks-table": "example-clicks-table",
		"a/b":                  "a%2Fb",
		"a%2Fb":                "a%252Fb",
		"..":                   "%2E%2E",
		".":                    "%2E",
		"...":                  "...",
		"":                     "",
		"nul\x00":              "nul%00",
		"ü":                    "%C3%BC",
	} {
		got := storage.EscapeName(in)
		assert.Equal(t, want, got, "%q", in)
		assert.False(t, strings.ContainsAny(got, `/\`+"\x00"), got)
	}
}
