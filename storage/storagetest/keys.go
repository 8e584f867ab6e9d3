package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// hugeKey is a 1 MiB key; every backend here takes it, and a backend that
// cannot must fail its Set with an error rather than store something else.
var hugeKey = strings.Repeat("k", 1<<20)

// anyKeys are keys a backend might be tempted to reserve or to mangle: the
// offset key goka and earlier versions used, the empty key, keys made of or
// starting with the bytes a backend could use to mark its own metadata
// (0x00, 0x00 0x01..., 0xff), and a 1 MiB key, with and without a leading
// 0x00. Every one of them is plain data.
var anyKeys = []string{
	"__offset",
	"__",
	"__offset\x00",
	"",
	"\x00",
	"\x00\x00",
	"\x00\x00\x01",
	"\x00\x01",
	"\x00\x01\x00",
	"\x00\x01layout",
	"\x00\x01offset",
	"\x00\x02",
	"\x00\xff",
	"\x01",
	"a\x00b",
	"\xff",
	"\xff\x00",
	"\xff\xff",
	hugeKey,
	"\x00" + hugeKey,
}

// sortedAnyKeys is anyKeys in ascending byte order.
func sortedAnyKeys() []string {
	keys := slices.Clone(anyKeys)
	slices.Sort(keys)
	return keys
}

// label names a key in a failure message without printing a megabyte.
func label(key string) string {
	if len(key) <= 32 {
		return fmt.Sprintf("%q", key)
	}
	return fmt.Sprintf("<%d bytes %q...>", len(key), key[:8])
}

// labels maps keys to their labels, so that failing comparisons stay short.
func labels(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = label(k)
	}
	return out
}

// valueOf is the value the key tests store under key: short, distinct per key,
// and for "__offset" a valid offset text, the dirty marker, which a backend
// that kept its offset there would take for its own.
func valueOf(key string) string {
	if key == "__offset" {
		return "-100"
	}
	return "v-" + label(key)
}

// fillAny stores every key of anyKeys with valueOf.
func fillAny(t *testing.T, st storage.Storage) {
	t.Helper()
	for _, k := range anyKeys {
		require.NoError(t, st.Set(k, []byte(valueOf(k))), "set %s", label(k))
	}
}

// checkAny checks that st holds exactly anyKeys with valueOf, in order, and
// the offset want.
func checkAny(t *testing.T, st storage.Storage, want int64) {
	t.Helper()
	for _, k := range anyKeys {
		assert.Equal(t, valueOf(k), string(get(t, st, k)), "value of %s", label(k))
		assert.True(t, has(t, st, k), "has %s", label(k))
	}
	got := all(t, st)
	assert.Equal(t, labels(sortedAnyKeys()), labels(keysOf(got)), "every key is iterated, in order, and nothing else")
	for _, e := range got {
		assert.Equal(t, valueOf(e.Key), e.Value, "iterated value of %s", label(e.Key))
	}
	assert.Equal(t, want, offset(t, st, -3), "the offset is apart from the data")
}

// Every key is data: it round-trips through Get, Set, Has and Delete, and
// neither data writes reach the offset nor offset writes the data.
func testAnyKey(t *testing.T, e *env) {
	st := e.fresh(t)
	for _, k := range anyKeys {
		assert.False(t, has(t, st, k), "a fresh storage has no %s", label(k))
		assert.Nil(t, get(t, st, k), "a fresh storage has no %s", label(k))
	}
	require.NoError(t, st.SetOffset(7))
	fillAny(t, st)
	checkAny(t, st, 7)

	require.NoError(t, st.SetOffset(-100))
	require.NoError(t, st.SetOffset(8))
	checkAny(t, st, 8)

	for _, k := range anyKeys {
		require.NoError(t, st.Delete(k), "delete %s", label(k))
		assert.False(t, has(t, st, k), "%s is deleted", label(k))
		assert.Nil(t, get(t, st, k), "%s is deleted", label(k))
	}
	assert.Empty(t, all(t, st), "nothing is left")
	assert.Equal(t, int64(8), offset(t, st, -3), "deleting every key leaves the offset")

	fresh := e.fresh(t)
	set(t, fresh, "__offset", "12")
	assert.Equal(t, int64(-3), offset(t, fresh, -3), "a key named __offset is no offset")
}

// Ranges and seeks over the keys a backend might reserve find them all.
func testAnyKeyRanges(t *testing.T, e *env) {
	st := e.fresh(t)
	fillAny(t, st)
	require.NoError(t, st.SetOffset(5))
	sorted := sortedAnyKeys()

	withPrefix := func(p string) []string {
		var out []string
		for _, k := range sorted {
			if strings.HasPrefix(k, p) {
				out = append(out, k)
			}
		}
		return out
	}
	between := func(lo, hi string) []string {
		var out []string
		for _, k := range sorted {
			if k >= lo && k < hi {
				out = append(out, k)
			}
		}
		return out
	}
	tests := []struct {
		name         string
		start, limit string
		want         []string
	}{
		{"prefix 0x00", "\x00", "", withPrefix("\x00")},
		{"prefix 0x00 0x01", "\x00\x01", "", withPrefix("\x00\x01")},
		{"prefix __offset", "__offset", "", withPrefix("__offset")},
		{"prefix 0xff", "\xff", "", withPrefix("\xff")},
		{"up to 0x01", "\x00", "\x01", between("\x00", "\x01")},
		{"0x00 0x01 to 0x00 0x02", "\x00\x01", "\x00\x02", between("\x00\x01", "\x00\x02")},
		{"0x00 0xff to 0xff", "\x00\xff", "\xff", between("\x00\xff", "\xff")},
		{"__ to __p", "__", "__p", between("__", "__p")},
		{"huge prefix", hugeKey, "", withPrefix(hugeKey)},
		{"from 0x00 0x00 0x01 to the huge key", "\x00\x00\x01", hugeKey, between("\x00\x00\x01", hugeKey)},
	}
	for _, tc := range tests {
		got := inRange(t, st, []byte(tc.start), []byte(tc.limit))
		assert.Equal(t, labels(tc.want), labels(keysOf(got)), tc.name)
		for _, e := range got {
			assert.Equal(t, valueOf(e.Key), e.Value, "%s: value of %s", tc.name, label(e.Key))
		}
	}

	it, err := st.Iterator()
	require.NoError(t, err)
	defer it.Release()
	for i, k := range sorted {
		require.True(t, it.Seek([]byte(k)), "seek %s", label(k))
		assert.Equal(t, label(k), label(string(it.Key())), "seek lands on %s", label(k))
		value, err := it.Value()
		require.NoError(t, err)
		assert.Equal(t, valueOf(k), string(value), "value after seek %s", label(k))
		if i+1 < len(sorted) {
			require.True(t, it.Next(), "next after %s", label(k))
			assert.Equal(t, label(sorted[i+1]), label(string(it.Key())), "next after %s", label(k))
		} else {
			assert.False(t, it.Next(), "nothing after the last key")
		}
	}
	// Seeks between the keys land on the next one.
	for _, target := range []string{"\x00\x00\x00", "\x00\x01\x01", "\x00\x03", "\x00\xff\x00", "_", "__a", "\xfe"} {
		want := ""
		for _, k := range sorted {
			if k >= target {
				want = k
				break
			}
		}
		require.True(t, it.Seek([]byte(target)), "seek %s", label(target))
		assert.Equal(t, label(want), label(string(it.Key())), "seek %s", label(target))
	}

	ranged, err := st.IteratorWithRange([]byte("\x00"), []byte("\x01"))
	require.NoError(t, err)
	defer ranged.Release()
	require.True(t, ranged.Seek(nil), "a seek before the range lands on its start")
	assert.Equal(t, label("\x00"), label(string(ranged.Key())))
	require.True(t, ranged.Seek([]byte("\x00\x01\x00\x00")))
	assert.Equal(t, label("\x00\x01layout"), label(string(ranged.Key())))
	require.True(t, ranged.Seek([]byte("\x00\xff")))
	assert.Equal(t, label("\x00\xff"), label(string(ranged.Key())))
	assert.False(t, ranged.Next(), "the range ends before 0x01")
	assert.False(t, ranged.Seek([]byte("\x01")), "nothing at the range's limit")
}

// Batches carry every key beside the offset, through a BatchWriter and
// through the fallback.
func testAnyKeyBatch(t *testing.T, e *env) {
	for _, st := range []storage.Storage{e.fresh(t), withoutBatchWriter{e.fresh(t)}} {
		b := new(storage.Batch)
		for _, k := range anyKeys {
			b.Set(k, []byte("old"))
		}
		b.SetOffset(3)
		require.NoError(t, writeBatch(st, b))
		b.Reset()
		for _, k := range anyKeys {
			b.Delete(k)
			b.Set(k, []byte(valueOf(k)))
		}
		b.Set("gone", nil)
		b.Delete("gone")
		b.SetOffset(4)
		require.NoError(t, writeBatch(st, b))
		checkAny(t, st, 4)

		b.Reset()
		for _, k := range anyKeys {
			b.Delete(k)
		}
		require.NoError(t, writeBatch(st, b))
		assert.Empty(t, all(t, st), "a batch deletes every key")
		assert.Equal(t, int64(4), offset(t, st, -3), "a batch without offset keeps it")
	}
}

// Every key survives Close next to the offset.
func testAnyKeyPersistence(t *testing.T, e *env) {
	st := e.open(t, "any-key", 1)
	fillAny(t, st)
	require.NoError(t, st.SetOffset(21))
	require.NoError(t, st.Close())

	st = e.open(t, "any-key", 1)
	checkAny(t, st, 21)
	require.NoError(t, st.SetOffset(-100))
	require.NoError(t, st.Close())

	st = e.open(t, "any-key", 1)
	checkAny(t, st, -100)
}

// Backends that keep nothing accept every key.
func testAnyKeyDiscarded(t *testing.T, e *env) {
	st := e.fresh(t)
	fillAny(t, st)
	require.NoError(t, st.SetOffset(7))
	for _, k := range anyKeys {
		assert.Nil(t, get(t, st, k), "nothing is kept for %s", label(k))
		require.NoError(t, st.Delete(k), "delete %s", label(k))
	}
	assert.Equal(t, int64(-3), offset(t, st, -3))
}
