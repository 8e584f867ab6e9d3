package redis

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// openHash opens hash and returns the storage and what opening it did to
// the layout.
func openHash(t *testing.T, hash string) (storage.Storage, storage.LayoutUpgrade) {
	t.Helper()
	st, err := New(newClient(t), hash)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	lr, ok := st.(storage.LayoutReporter)
	require.True(t, ok, "the Redis storage reports its layout upgrade")
	return st, lr.LayoutUpgrade()
}

// hashContents iterates over st into a map, checking that Get agrees.
func hashContents(t *testing.T, st storage.Storage) map[string]string {
	t.Helper()
	it, err := st.Iterator()
	require.NoError(t, err)
	keys, values := iterate(t, it)
	out := map[string]string{}
	for i, k := range keys {
		out[k] = values[i]
		got, err := st.Get(k)
		require.NoError(t, err)
		assert.Equal(t, values[i], string(got), "Get agrees with the iterator on %q", k)
	}
	return out
}

// A hash written by goka (offset in the field "__offset" as decimal text) is
// migrated: the offset moves out of the data, fields starting with 0x00 are
// kept, and "__offset" is free for data afterwards.
func TestMigratesGokaHash(t *testing.T) {
	client := newClient(t)
	const hash = "goka:clicks:0"
	useHashes(t, client, hash)
	require.NoError(t, client.HSet(context.Background(), hash,
		"__offset", "17",
		"user", "3",
		"", "empty key",
		"\x00", "zero",
		"\x00\x00", "two zeros",
		"\x00\x01layout", "a goka key that looks like metadata",
	).Err())

	st, upgrade := openHash(t, hash)
	assert.Equal(t, storage.LayoutMigrated, upgrade)
	want := map[string]string{
		"user":           "3",
		"":               "empty key",
		"\x00":           "zero",
		"\x00\x00":       "two zeros",
		"\x00\x01layout": "a goka key that looks like metadata",
	}
	assert.Equal(t, want, hashContents(t, st))
	off, err := st.GetOffset(-1)
	require.NoError(t, err)
	assert.Equal(t, int64(17), off)

	require.NoError(t, st.Set("__offset", []byte("-100")))
	off, err = st.GetOffset(-1)
	require.NoError(t, err)
	assert.Equal(t, int64(17), off, "a key named __offset is data now")
	require.NoError(t, st.Close())

	st, upgrade = openHash(t, hash)
	assert.Equal(t, storage.LayoutCurrent, upgrade, "a migrated hash is not migrated again")
	want["__offset"] = "-100"
	assert.Equal(t, want, hashContents(t, st))
}

// The dirty marker of an earlier version survives the migration, so that the
// table code still rebuilds the partition.
func TestMigratesDirtyMarker(t *testing.T) {
	client := newClient(t)
	const hash = "legacy:dirty:0"
	useHashes(t, client, hash)
	require.NoError(t, client.HSet(context.Background(), hash, "__offset", "-100", "k", "v").Err())
	st, upgrade := openHash(t, hash)
	assert.Equal(t, storage.LayoutMigrated, upgrade)
	off, err := st.GetOffset(-1)
	require.NoError(t, err)
	assert.Equal(t, int64(-100), off)
}

// A legacy offset that is not a number cannot be trusted: the hash is
// deleted for a rebuild from the topic.
func TestRebuildsHashWithMalformedOffset(t *testing.T) {
	client := newClient(t)
	const hash = "legacy:malformed:0"
	useHashes(t, client, hash)
	require.NoError(t, client.HSet(context.Background(), hash, "__offset", "twelve", "k", "v").Err())
	st, upgrade := openHash(t, hash)
	assert.Equal(t, storage.LayoutRebuilding, upgrade)
	assert.Empty(t, hashContents(t, st))
	off, err := st.GetOffset(-1)
	require.NoError(t, err)
	assert.Equal(t, int64(-1), off, "no offset: the restore starts from the oldest")
}

// A hash with more fields to re-encode than a migration holds in memory is
// rebuilt instead.
func TestRebuildsHashTooLargeToMigrate(t *testing.T) {
	prev := migrationLimit
	migrationLimit = 1000
	t.Cleanup(func() { migrationLimit = prev })
	client := newClient(t)
	const hash = "legacy:large:0"
	useHashes(t, client, hash)
	fields := []any{"__offset", "12", "plain", "v"}
	for i := range 20 {
		fields = append(fields, "\x00"+strings.Repeat("x", i+1), strings.Repeat("v", 100))
	}
	require.NoError(t, client.HSet(context.Background(), hash, fields...).Err())
	st, upgrade := openHash(t, hash)
	assert.Equal(t, storage.LayoutRebuilding, upgrade)
	assert.Empty(t, hashContents(t, st))
}

// A layout this version does not know is refused, not misread.
func TestRefusesUnknownLayout(t *testing.T) {
	client := newClient(t)
	const hash = "future:layout:0"
	useHashes(t, client, hash)
	require.NoError(t, client.HSet(context.Background(), hash, layoutField, "keyspace-layout-99", "k", "v").Err())
	_, err := New(client, hash)
	assert.ErrorContains(t, err, "keyspace-layout-99")
}

// Writes carry the layout field, so that a hash deleted behind the storage's
// back and written again is not taken for the earlier layout on the next
// open (which would re-escape its keys and read its metadata as data).
func TestRecreatedHashKeepsTheLayout(t *testing.T) {
	client := newClient(t)
	const hash = "recreated:layout:0"
	useHashes(t, client, hash)
	st, upgrade := openHash(t, hash)
	assert.Equal(t, storage.LayoutCurrent, upgrade)
	require.NoError(t, client.Del(context.Background(), hash).Err())
	require.NoError(t, st.Set("\x00", []byte("z")))
	require.NoError(t, st.SetOffset(5))
	require.NoError(t, st.Close())

	st, upgrade = openHash(t, hash)
	assert.Equal(t, storage.LayoutCurrent, upgrade)
	assert.Equal(t, map[string]string{"\x00": "z"}, hashContents(t, st))
	off, err := st.GetOffset(-1)
	require.NoError(t, err)
	assert.Equal(t, int64(5), off)
}
