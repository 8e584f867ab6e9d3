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

// A goka cache directory keeps the offset as decimal text under "__offset";
// it must be read as is, and written back the same way.
func TestLevelDBGokaOffsetFormat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "table.0")
	db, err := leveldb.OpenFile(dir, nil)
	require.NoError(t, err)
	require.NoError(t, db.Put([]byte("__offset"), []byte("4711"), nil))
	require.NoError(t, db.Put([]byte("user"), []byte("data"), nil))
	require.NoError(t, db.Close())

	st, err := storage.DefaultBuilder(filepath.Dir(dir))("table", 0)
	require.NoError(t, err)
	off, err := st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(4711), off)

	require.NoError(t, st.SetOffset(-2))
	raw, err := st.Get("__offset")
	require.NoError(t, err)
	assert.Equal(t, []byte("-2"), raw, "the offset is stored as decimal text")
	require.NoError(t, st.Close())

	db, err = leveldb.OpenFile(dir, nil)
	require.NoError(t, err)
	defer db.Close()
	raw, err = db.Get([]byte("__offset"), nil)
	require.NoError(t, err)
	assert.Equal(t, []byte("-2"), raw, "SetOffset writes through")
}

func TestLevelDBMalformedOffset(t *testing.T) {
	st, err := storage.DefaultBuilder(t.TempDir())("table", 0)
	require.NoError(t, err)
	defer st.Close()

	require.NoError(t, st.Set("__offset", []byte("not a number")))
	_, err = st.GetOffset(-3)
	assert.ErrorContains(t, err, "malformed stored offset")
}
