package storagetest

import (
	"math/rand"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// rangeKeys is the key set the range and seek tests run on.
var rangeKeys = []string{"a", "aa", "ab", "abc", "b", "ba", "c"}

// fill stores each key with the value "v-<key>", in a shuffled order so that
// insertion order cannot pass for key order.
func fill(t *testing.T, st storage.Storage, keys ...string) {
	t.Helper()
	shuffled := slices.Clone(keys)
	rand.New(rand.NewSource(1)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	for _, k := range shuffled {
		set(t, st, k, "v-"+k)
	}
}

func testIterationOrder(t *testing.T, e *env) {
	st := e.fresh(t)
	assert.Empty(t, all(t, st), "an empty storage iterates over nothing")

	keys := []string{"", "\x00", "a", "a\x00", "ab", "b", "B", "\x7f", "\x80", "\xff", "\xff\xff", "10", "9"}
	for i := range 50 {
		keys = append(keys, "k"+strconv.Itoa(i))
	}
	fill(t, st, keys...)
	require.NoError(t, st.SetOffset(7))

	want := slices.Clone(keys)
	slices.Sort(want) // Go orders strings by bytes, as the contract does
	got := all(t, st)
	assert.Equal(t, want, keysOf(got), "ascending byte order")
	for _, e := range got {
		assert.Equal(t, "v-"+e.Key, e.Value, "value of %q", e.Key)
	}

	it, err := st.Iterator()
	require.NoError(t, err)
	assert.Empty(t, it.Key(), "an iterator starts before the first key")
	value, err := it.Value()
	assert.NoError(t, err)
	assert.Empty(t, value, "no value before the first key")
	it.Release()
	it.Release() // idempotent
	assert.False(t, it.Next(), "a released iterator is exhausted")
}

// The offset is not a key: iterators show no trace of it, and a user key
// "__offset", where goka and earlier versions kept it, is iterated as data.
func testOffsetNotAKey(t *testing.T, e *env) {
	st := e.fresh(t)
	fill(t, st, "_", "__a", "__offset", "__p", "a")
	require.NoError(t, st.SetOffset(12345))

	assert.Equal(t, []string{"_", "__a", "__offset", "__p", "a"}, keysOf(all(t, st)))
	assert.Equal(t, []string{"__a", "__offset", "__p"}, keysOf(inRange(t, st, []byte("__"), nil)))
	assert.Equal(t, []string{"__a", "__offset", "__p"}, keysOf(inRange(t, st, []byte("__"), []byte("a"))))
	assert.Equal(t, pairs("__offset", "v-__offset"), inRange(t, st, []byte("__offset"), nil))

	it, err := st.Iterator()
	require.NoError(t, err)
	defer it.Release()
	require.True(t, it.Seek([]byte("__offset")))
	assert.Equal(t, "__offset", string(it.Key()))
	require.True(t, it.Seek([]byte("__b")))
	assert.Equal(t, "__offset", string(it.Key()))
	assert.Equal(t, int64(12345), offset(t, st, -3))
}

func testRanges(t *testing.T, e *env) {
	st := e.fresh(t)
	fill(t, st, rangeKeys...)
	fill(t, st, "\xff", "\xff\xff", "\xff\x00")
	require.NoError(t, st.SetOffset(1))

	tests := []struct {
		name         string
		start, limit []byte
		want         []string
	}{
		{"nil start and limit is everything", nil, nil, append(slices.Clone(rangeKeys), "\xff", "\xff\x00", "\xff\xff")},
		{"empty start and limit is everything", []byte{}, []byte{}, append(slices.Clone(rangeKeys), "\xff", "\xff\x00", "\xff\xff")},
		{"empty limit is a prefix", []byte("a"), nil, []string{"a", "aa", "ab", "abc"}},
		{"longer prefix", []byte("ab"), nil, []string{"ab", "abc"}},
		{"prefix of one key", []byte("abc"), nil, []string{"abc"}},
		{"prefix matching nothing", []byte("x"), nil, nil},
		{"prefix ending in 0xff", []byte("\xff"), []byte{}, []string{"\xff", "\xff\x00", "\xff\xff"}},
		{"half-open range", []byte("aa"), []byte("b"), []string{"aa", "ab", "abc"}},
		{"limit is exclusive", []byte("a"), []byte("abc"), []string{"a", "aa", "ab"}},
		{"limit between keys", []byte("ab"), []byte("bb"), []string{"ab", "abc", "b", "ba"}},
		{"no start", nil, []byte("ab"), []string{"a", "aa"}},
		{"start between keys", []byte("abd"), []byte("c"), []string{"b", "ba"}},
		{"start equals limit", []byte("b"), []byte("b"), nil},
		{"start after limit", []byte("c"), []byte("a"), nil},
		{"limit after every key", []byte("ba"), []byte("zz"), []string{"ba", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := keysOf(inRange(t, st, tc.start, tc.limit))
			assert.Equal(t, append([]string{}, tc.want...), got)
		})
	}
}

// seekStep is one Seek or Next on an iterator and what it must find; an
// empty want means the move must report false.
type seekStep struct {
	seek string // the key to seek to; next is used when seek is "next"
	want string
}

// runSeeks plays steps on one iterator.
func runSeeks(t *testing.T, it storage.Iterator, steps []seekStep) {
	t.Helper()
	defer it.Release()
	for i, s := range steps {
		var ok bool
		if s.seek == "next" {
			ok = it.Next()
		} else {
			ok = it.Seek([]byte(s.seek))
		}
		if s.want == "" {
			assert.False(t, ok, "step %d %q: want no key, got %q", i, s.seek, it.Key())
			assert.Empty(t, it.Key(), "step %d: no key after a failed move", i)
			continue
		}
		if !assert.True(t, ok, "step %d %q: want %q", i, s.seek, s.want) {
			return
		}
		assert.Equal(t, kv{s.want, "v-" + s.want}, current(t, it), "step %d %q", i, s.seek)
	}
	assert.NoError(t, it.Err())
}

func testSeek(t *testing.T, e *env) {
	st := e.fresh(t)
	fill(t, st, rangeKeys...)
	newIter := func() storage.Iterator {
		it, err := st.Iterator()
		require.NoError(t, err)
		return it
	}

	t.Run("exact key then next", func(t *testing.T) {
		runSeeks(t, newIter(), []seekStep{{"ab", "ab"}, {"next", "abc"}, {"next", "b"}})
	})
	t.Run("between keys", func(t *testing.T) {
		runSeeks(t, newIter(), []seekStep{{"abd", "b"}, {"next", "ba"}})
	})
	t.Run("before the first key", func(t *testing.T) {
		runSeeks(t, newIter(), []seekStep{{"0", "a"}, {"next", "aa"}})
	})
	t.Run("empty key", func(t *testing.T) {
		runSeeks(t, newIter(), []seekStep{{"", "a"}})
	})
	t.Run("the last key", func(t *testing.T) {
		runSeeks(t, newIter(), []seekStep{{"c", "c"}, {"next", ""}})
	})
	t.Run("after the last key", func(t *testing.T) {
		runSeeks(t, newIter(), []seekStep{{"d", ""}, {"next", ""}})
	})
	t.Run("backwards", func(t *testing.T) {
		runSeeks(t, newIter(), []seekStep{
			{"next", "a"}, {"next", "aa"}, {"c", "c"}, {"aa", "aa"}, {"next", "ab"}, {"d", ""}, {"b", "b"},
		})
	})
	t.Run("after exhaustion", func(t *testing.T) {
		it := newIter()
		for it.Next() {
		}
		runSeeks(t, it, []seekStep{{"ba", "ba"}, {"next", "c"}})
	})
}

func testSeekInRanges(t *testing.T, e *env) {
	st := e.fresh(t)
	fill(t, st, rangeKeys...)
	newIter := func(start, limit string) storage.Iterator {
		it, err := st.IteratorWithRange([]byte(start), []byte(limit))
		require.NoError(t, err)
		return it
	}

	t.Run("before the range start", func(t *testing.T) {
		runSeeks(t, newIter("aa", "b"), []seekStep{{"a", "aa"}, {"next", "ab"}})
	})
	t.Run("inside the range", func(t *testing.T) {
		runSeeks(t, newIter("aa", "b"), []seekStep{{"ab", "ab"}, {"next", "abc"}, {"next", ""}})
	})
	t.Run("at the limit", func(t *testing.T) {
		runSeeks(t, newIter("aa", "b"), []seekStep{{"b", ""}})
	})
	t.Run("next key beyond the limit", func(t *testing.T) {
		runSeeks(t, newIter("aa", "b"), []seekStep{{"abd", ""}})
	})
	t.Run("prefix", func(t *testing.T) {
		runSeeks(t, newIter("a", ""), []seekStep{{"0", "a"}, {"ab", "ab"}, {"next", "abc"}, {"b", ""}})
	})
	t.Run("prefix beyond", func(t *testing.T) {
		runSeeks(t, newIter("a", ""), []seekStep{{"abd", ""}})
	})
	t.Run("empty range", func(t *testing.T) {
		runSeeks(t, newIter("c", "a"), []seekStep{{"a", ""}, {"next", ""}})
	})
}

func testSnapshotIsolation(t *testing.T, e *env) {
	st := e.fresh(t)
	set(t, st, "a", "1", "b", "2", "c", "3")

	before, err := st.Iterator()
	require.NoError(t, err)
	ranged, err := st.IteratorWithRange([]byte("b"), nil)
	require.NoError(t, err)
	started, err := st.Iterator()
	require.NoError(t, err)
	require.True(t, started.Next())
	require.Equal(t, "a", string(started.Key()))

	set(t, st, "b", "20", "d", "4", "ba", "5")
	require.NoError(t, st.Delete("c"))
	require.NoError(t, st.SetOffset(10))

	middle, err := st.Iterator()
	require.NoError(t, err)

	require.NoError(t, st.Delete("a"))
	set(t, st, "e", "6")

	assert.Equal(t, pairs("a", "1", "b", "2", "c", "3"), drain(t, before), "writes after creation are not seen")
	assert.Equal(t, pairs("b", "2"), drain(t, ranged), "writes after creation are not seen in ranges")
	assert.Equal(t, pairs("b", "2", "c", "3"), drain(t, started), "writes after the first Next are not seen")
	assert.Equal(t, pairs("a", "1", "b", "20", "ba", "5", "d", "4"), drain(t, middle))
	assert.Equal(t, pairs("b", "20", "ba", "5", "d", "4", "e", "6"), all(t, st), "a new iterator sees every write")

	seeker, err := st.Iterator()
	require.NoError(t, err)
	defer seeker.Release()
	set(t, st, "bb", "7")
	require.True(t, seeker.Seek([]byte("bb")))
	assert.Equal(t, "d", string(seeker.Key()), "Seek does not find keys written after creation")
}
