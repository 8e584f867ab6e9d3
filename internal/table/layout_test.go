package table

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/syndtr/goleveldb/leveldb"

	"github.com/seed-b2c684ed/goka/storage"
)

// writeGokaStore writes the partition's LevelDB store under dir as goka
// does: the data as is, the offset as decimal text under "__offset".
func writeGokaStore(t *testing.T, dir string, data map[string]string, offset string) {
	t.Helper()
	db, err := leveldb.OpenFile(filepath.Join(dir, fmt.Sprintf("%s.%d", testTopic, testPartition)), nil)
	require.NoError(t, err)
	for k, v := range data {
		require.NoError(t, db.Put([]byte(k), []byte(v), nil))
	}
	require.NoError(t, db.Put([]byte("__offset"), []byte(offset), nil))
	require.NoError(t, db.Close())
}

// A goka store is migrated when the partition opens it: the restore resumes
// after its offset, and the log says so.
func TestOpenMigratesGokaStore(t *testing.T) {
	dir := t.TempDir()
	log := newFakeLog(testTopic, testPartition)
	want := fillLog(log, 30)
	writeGokaStore(t, dir, want, "29")
	log.addString("new", "x")
	want["new"] = "x"

	var lines logLines
	p := newPartition(t, log, nil, func(c *Config) {
		c.Builder = storage.DefaultBuilder(dir)
		c.Logf = lines.logf
	})
	require.NoError(t, p.Recover(context.Background()))
	assert.Equal(t, want, contents(t, p.Storage()))
	assert.Equal(t, []int64{30}, log.startOffsets(), "the migrated offset is used")
	assert.Contains(t, lines.all(),
		`table: topic "tbl" partition 3: store in the old layout with the offset under "__offset": migrated (offset and data kept)`)
}

// A goka store whose offset cannot be read is rebuilt from the topic, and
// the log says so.
func TestOpenRebuildsGokaStoreWithUnreadableOffset(t *testing.T) {
	dir := t.TempDir()
	log := newFakeLog(testTopic, testPartition)
	want := fillLog(log, 30)
	writeGokaStore(t, dir, map[string]string{"stale": "x", "k0": "old"}, "garbage")

	var lines logLines
	p := newPartition(t, log, nil, func(c *Config) {
		c.Builder = storage.DefaultBuilder(dir)
		c.Logf = lines.logf
	})
	require.NoError(t, p.Recover(context.Background()))
	assert.Equal(t, want, contents(t, p.Storage()), "nothing of the old store survives")
	assert.Equal(t, []int64{0}, log.startOffsets(), "the rebuild reads from the oldest offset")
	require.NotEmpty(t, lines.all())
	assert.Contains(t, lines.all()[0],
		`table: topic "tbl" partition 3: store in the old layout with the offset under "__offset": rebuilding`)
}
