package storagetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// kv is one key and value as an iterator returned them.
type kv struct {
	Key, Value string
}

// set stores string pairs, given as key, value, key, value...
func set(t *testing.T, st storage.Storage, pairs ...string) {
	t.Helper()
	require.Zero(t, len(pairs)%2, "set needs key/value pairs")
	for i := 0; i < len(pairs); i += 2 {
		require.NoError(t, st.Set(pairs[i], []byte(pairs[i+1])), "set %q", pairs[i])
	}
}

// get returns the value of key, failing the test on error.
func get(t *testing.T, st storage.Storage, key string) []byte {
	t.Helper()
	value, err := st.Get(key)
	require.NoError(t, err, "get %q", key)
	return value
}

// has reports whether key is stored, failing the test on error.
func has(t *testing.T, st storage.Storage, key string) bool {
	t.Helper()
	ok, err := st.Has(key)
	require.NoError(t, err, "has %q", key)
	return ok
}

// offset returns the stored offset or def, failing the test on error.
func offset(t *testing.T, st storage.Storage, def int64) int64 {
	t.Helper()
	o, err := st.GetOffset(def)
	require.NoError(t, err, "get offset")
	return o
}

// drain reads the rest of it, checks that it ended without error and
// releases it.
func drain(t *testing.T, it storage.Iterator) []kv {
	t.Helper()
	defer it.Release()
	var out []kv
	for it.Next() {
		out = append(out, current(t, it))
	}
	require.NoError(t, it.Err(), "iteration error")
	require.False(t, it.Next(), "Next after the end must stay false")
	return out
}

// current returns the element the iterator is on.
func current(t *testing.T, it storage.Iterator) kv {
	t.Helper()
	value, err := it.Value()
	require.NoError(t, err, "iterator value")
	return kv{Key: string(it.Key()), Value: string(value)}
}

// all iterates over the whole storage.
func all(t *testing.T, st storage.Storage) []kv {
	t.Helper()
	it, err := st.Iterator()
	require.NoError(t, err, "iterator")
	return drain(t, it)
}

// inRange iterates over IteratorWithRange(start, limit).
func inRange(t *testing.T, st storage.Storage, start, limit []byte) []kv {
	t.Helper()
	it, err := st.IteratorWithRange(start, limit)
	require.NoError(t, err, "iterator with range")
	return drain(t, it)
}

// pairs builds the expected iteration result from key, value, key, value...
func pairs(kvs ...string) []kv {
	var out []kv
	for i := 0; i+1 < len(kvs); i += 2 {
		out = append(out, kv{kvs[i], kvs[i+1]})
	}
	return out
}

// keysOf lists the keys of an iteration result.
func keysOf(kvs []kv) []string {
	keys := []string{}
	for _, e := range kvs {
		keys = append(keys, e.Key)
	}
	return keys
}
