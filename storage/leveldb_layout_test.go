package storage_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/syndtr/goleveldb/leveldb"

	"github.com/seed-b2c684ed/goka/storage"
)

// writeLegacy writes a LevelDB store as goka and earlier versions did: every
// pair as is, the offset among them as decimal text under "__offset".
func writeLegacy(t *testing.T, dir string, pairs ...string) {
	t.Helper()
	db, err := leveldb.OpenFile(dir, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(pairs); i += 2 {
		require.NoError(t, db.Put([]byte(pairs[i]), []byte(pairs[i+1]), nil))
	}
	require.NoError(t, db.Close())
}

// openLegacy opens table.0 under root with the default builder and returns
// the storage and what opening it did to the layout.
func openLegacy(t *testing.T, root string) (storage.Storage, storage.LayoutUpgrade) {
	t.Helper()
	st, err := storage.DefaultBuilder(root)("table", 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	lr, ok := st.(storage.LayoutReporter)
	require.True(t, ok, "the LevelDB storage reports its layout upgrade")
	return st, lr.LayoutUpgrade()
}

// contents iterates over st into a map, checking that Get agrees.
func contents(t *testing.T, st storage.Storage) map[string]string {
	t.Helper()
	it, err := st.Iterator()
	require.NoError(t, err)
	defer it.Release()
	out := map[string]string{}
	for it.Next() {
		value, err := it.Value()
		require.NoError(t, err)
		out[string(it.Key())] = string(value)
		got, err := st.Get(string(it.Key()))
		require.NoError(t, err)
		assert.Equal(t, string(value), string(got), "Get agrees with the iterator on %q", it.Key())
	}
	require.NoError(t, it.Err())
	return out
}

// A goka store (offset under "__offset" as decimal text) is migrated: the
// offset moves out of the data, keys starting with 0x00 are kept, and
// "__offset" is free for data afterwards.
func TestLevelDBMigratesGokaStore(t *testing.T) {
	root := t.TempDir()
	writeLegacy(t, filepath.Join(root, "table.0"),
		"__offset", "4711",
		"user", "data",
		"", "empty key",
		"\x00", "zero",
		"\x00\x00", "two zeros",
		"\x00\x01layout", "a goka key that looks like metadata",
		"\xff", "high")

	st, upgrade := openLegacy(t, root)
	assert.Equal(t, storage.LayoutMigrated, upgrade)
	want := map[string]string{
		"user":           "data",
		"":               "empty key",
		"\x00":           "zero",
		"\x00\x00":       "two zeros",
		"\x00\x01layout": "a goka key that looks like metadata",
		"\xff":           "high",
	}
	assert.Equal(t, want, contents(t, st), "the data survives the migration and __offset is gone from it")
	off, err := st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(4711), off, "the offset survives the migration")

	require.NoError(t, st.Set("__offset", []byte("-100")))
	off, err = st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(4711), off, "a key named __offset is data now")
	require.NoError(t, st.Close())

	st, upgrade = openLegacy(t, root)
	assert.Equal(t, storage.LayoutCurrent, upgrade, "a migrated store is not migrated again")
	want["__offset"] = "-100"
	assert.Equal(t, want, contents(t, st))
	off, err = st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(4711), off)
}

// The dirty marker written by an earlier version survives the migration, so
// that the table code still rebuilds the store.
func TestLevelDBMigratesDirtyMarker(t *testing.T) {
	root := t.TempDir()
	writeLegacy(t, filepath.Join(root, "table.0"), "__offset", "-100", "k", "v")
	st, upgrade := openLegacy(t, root)
	assert.Equal(t, storage.LayoutMigrated, upgrade)
	off, err := st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(-100), off)
}

// A legacy store that never stored an offset keeps its data and still has
// none.
func TestLevelDBMigratesStoreWithoutOffset(t *testing.T) {
	root := t.TempDir()
	writeLegacy(t, filepath.Join(root, "table.0"), "k", "v")
	st, upgrade := openLegacy(t, root)
	assert.Equal(t, storage.LayoutMigrated, upgrade)
	assert.Equal(t, map[string]string{"k": "v"}, contents(t, st))
	off, err := st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(-3), off)
}

// A legacy offset that is not a number cannot be trusted: the store is
// emptied, offset included, for a rebuild from the topic.
func TestLevelDBRebuildsStoreWithMalformedOffset(t *testing.T) {
	root := t.TempDir()
	writeLegacy(t, filepath.Join(root, "table.0"), "__offset", "not a number", "k", "v", "\x00", "z")
	st, upgrade := openLegacy(t, root)
	assert.Equal(t, storage.LayoutRebuilding, upgrade)
	assert.Empty(t, contents(t, st))
	off, err := st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(-3), off, "no offset: the restore starts from the oldest")
	require.NoError(t, st.Close())

	_, upgrade = openLegacy(t, root)
	assert.Equal(t, storage.LayoutCurrent, upgrade, "a rebuilt store is in the current layout")
}

// A store with more keys to re-encode than a migration holds in memory is
// rebuilt instead.
func TestLevelDBRebuildsStoreTooLargeToMigrate(t *testing.T) {
	defer storage.SetMigrationLimit(1000)()
	root := t.TempDir()
	pairs := []string{"__offset", "12", "plain", "v"}
	for i := range 20 {
		pairs = append(pairs, "\x00"+strings.Repeat("x", i+1), strings.Repeat("v", 100))
	}
	writeLegacy(t, filepath.Join(root, "table.0"), pairs...)
	st, upgrade := openLegacy(t, root)
	assert.Equal(t, storage.LayoutRebuilding, upgrade)
	assert.Empty(t, contents(t, st))
	off, err := st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(-3), off)
}

// A rebuild interrupted by a crash, which may have deleted data but not yet
// "__offset", is finished on the next open, not migrated with its holes.
func TestLevelDBFinishesInterruptedRebuild(t *testing.T) {
	root := t.TempDir()
	writeLegacy(t, filepath.Join(root, "table.0"),
		"__offset", "12", "half", "of the data", "\x00\x01rebuild", "keyspace-rebuild-pending")
	st, upgrade := openLegacy(t, root)
	assert.Equal(t, storage.LayoutRebuilding, upgrade)
	assert.Empty(t, contents(t, st))
	off, err := st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(-3), off)
}

// A fresh store gets the current layout at once, so that its first write is
// never taken for the earlier layout.
func TestLevelDBFreshStoreIsCurrent(t *testing.T) {
	root := t.TempDir()
	st, upgrade := openLegacy(t, root)
	assert.Equal(t, storage.LayoutCurrent, upgrade)
	require.NoError(t, st.Set("\x00", []byte("z")))
	require.NoError(t, st.Close())

	st, upgrade = openLegacy(t, root)
	assert.Equal(t, storage.LayoutCurrent, upgrade)
	assert.Equal(t, map[string]string{"\x00": "z"}, contents(t, st))
}

// A layout this version does not know is refused, not misread.
func TestLevelDBRefusesUnknownLayout(t *testing.T) {
	root := t.TempDir()
	writeLegacy(t, filepath.Join(root, "table.0"), "\x00\x01layout", "keyspace-layout-99", "k", "v")
	_, err := storage.DefaultBuilder(root)("table", 0)
	assert.ErrorContains(t, err, "keyspace-layout-99")

	// New closed the database: it can be opened again.
	db, err := leveldb.OpenFile(filepath.Join(root, "table.0"), nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
}

func TestLevelDBMalformedOffset(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "table.0")
	st, _ := openLegacy(t, root)
	require.NoError(t, st.Close())
	db, err := leveldb.OpenFile(dir, nil)
	require.NoError(t, err)
	require.NoError(t, db.Put([]byte("\x00\x01offset"), []byte("not a number"), nil))
	require.NoError(t, db.Close())

	st, _ = openLegacy(t, root)
	_, err = st.GetOffset(-3)
	assert.ErrorContains(t, err, "malformed stored offset")
}
