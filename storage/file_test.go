package storage_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/storagetest"
)

func TestFileConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Builder {
		dir := t.TempDir()
		return func(topic string, partition int32) (storage.Storage, error) {
			return storage.NewFile(filepath.Join(dir, topic), partition)
		}
	}, storagetest.Capabilities{Discards: true})
}

func TestFileAppendsValues(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "there", "yet")
	st, err := storage.NewFile(dir, 2)
	require.NoError(t, err, "the directory is created")
	require.NoError(t, st.Open())
	require.NoError(t, st.Set("a", []byte("first")))
	require.NoError(t, st.Set("b", nil))
	require.NoError(t, st.Set("a", []byte("third")))
	require.NoError(t, st.Delete("a"))
	require.NoError(t, st.SetOffset(3))
	require.NoError(t, st.Close())

	name := filepath.Join(dir, "part-2")
	content, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "first\n\nthird\n", string(content))

	st, err = storage.NewFile(dir, 2)
	require.NoError(t, err)
	require.NoError(t, st.Set("c", []byte("more")))
	require.NoError(t, st.Close())
	assert.ErrorIs(t, st.Set("d", []byte("late")), storage.ErrClosed)

	content, err = os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, "first\n\nthird\nmore\n", string(content), "reopening appends")
}

func TestFileBadPath(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	_, err := storage.NewFile(blocker, 0)
	assert.ErrorContains(t, err, "storage: new file storage")
}
