package storage_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/storagetest"
)

func TestLevelDBConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Builder {
		return storage.DefaultBuilder(t.TempDir())
	}, storagetest.Capabilities{Persistent: true})
}

func TestLevelDBWithOptionsConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Builder {
		return storage.BuilderWithOptions(t.TempDir(), &opt.Options{WriteBuffer: 64 << 10})
	}, storagetest.Capabilities{Persistent: true})
}

func TestLevelDBNewConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Builder {
		dir := t.TempDir()
		return func(topic string, partition int32) (storage.Storage, error) {
			db, err := leveldb.OpenFile(filepath.Join(dir, topic, strconv.Itoa(int(partition))), nil)
			if err != nil {
				return nil, err
			}
			return storage.New(db)
		}
	}, storagetest.Capabilities{Persistent: true})
}

func TestDefaultBuilderLayout(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.DefaultBuilder(dir)("my-table", 7)
	require.NoError(t, err)
	defer st.Close()

	info, err := os.Stat(filepath.Join(dir, "my-table.7"))
	require.NoError(t, err, "the database lives at <path>/<topic>.<partition>")
	assert.True(t, info.IsDir())
}

func TestDefaultBuilderError(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))

	_, err := storage.DefaultBuilder(blocker)("topic", 0)
	assert.ErrorContains(t, err, "storage: open leveldb")
}

func TestLevelDBNewNil(t *testing.T) {
	_, err := storage.New(nil)
	assert.Error(t, err)
}
