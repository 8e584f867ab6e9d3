package storage_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// partitionIters returns one memory iterator per map, as the partitions of a
// table would give.
func partitionIters(t *testing.T, parts ...map[string]string) []storage.Iterator {
	t.Helper()
	var iters []storage.Iterator
	for _, part := range parts {
		st := storage.NewMemory()
		t.Cleanup(func() { _ = st.Close() })
		for k, v := range part {
			require.NoError(t, st.Set(k, []byte(v)))
		}
		it, err := st.Iterator()
		require.NoError(t, err)
		iters = append(iters, it)
	}
	return iters
}

type entry struct{ key, value string }

func drainMerged(t *testing.T, it storage.Iterator) []entry {
	t.Helper()
	var out []entry
	for it.Next() {
		value, err := it.Value()
		require.NoError(t, err)
		out = append(out, entry{string(it.Key()), string(value)})
	}
	require.NoError(t, it.Err())
	return out
}

func TestMultiIteratorMergesInKeyOrder(t *testing.T) {
	it := storage.NewMultiIterator(partitionIters(t,
		map[string]string{"b": "0", "d": "0", "f": "0"},
		map[string]string{"a": "1", "e": "1"},
		map[string]string{},
		map[string]string{"c": "3", "g": "3"},
	))
	defer it.Release()
	assert.Nil(t, it.Key(), "before the first key")
	assert.Equal(t, []entry{
		{"a", "1"}, {"b", "0"}, {"c", "3"}, {"d", "0"}, {"e", "1"}, {"f", "0"}, {"g", "3"},
	}, drainMerged(t, it))
	assert.False(t, it.Next(), "stays exhausted")
	assert.Nil(t, it.Key())
}

func TestMultiIteratorKeepsDuplicatesInIteratorOrder(t *testing.T) {
	it := storage.NewMultiIterator(partitionIters(t,
		map[string]string{"k": "first", "z": "first"},
		map[string]string{"a": "second", "k": "second"},
		map[string]string{"k": "third"},
	))
	defer it.Release()
	assert.Equal(t, []entry{
		{"a", "second"}, {"k", "first"}, {"k", "second"}, {"k", "third"}, {"z", "first"},
	}, drainMerged(t, it))
}

func TestMultiIteratorSeek(t *testing.T) {
	it := storage.NewMultiIterator(partitionIters(t,
		map[string]string{"b": "0", "d": "0"},
		map[string]string{"c": "1", "d": "1", "e": "1"},
	))
	defer it.Release()

	require.True(t, it.Seek([]byte("c")))
	assert.Equal(t, "c", string(it.Key()), "positioned without Next")
	value, err := it.Value()
	require.NoError(t, err)
	assert.Equal(t, "1", string(value))
	assert.Equal(t, []entry{{"d", "0"}, {"d", "1"}, {"e", "1"}}, drainMerged(t, it), "Next continues after the seek")

	require.True(t, it.Seek([]byte("a")), "seek backwards")
	assert.Equal(t, "b", string(it.Key()))
	require.True(t, it.Seek([]byte("dd")))
	assert.Equal(t, "e", string(it.Key()))
	assert.False(t, it.Seek([]byte("f")), "after the last key")
	assert.Nil(t, it.Key())
	assert.False(t, it.Next())
}

// recordingIter counts Release calls and can report an error.
type recordingIter struct {
	storage.NullIter
	released int
	err      error
}

func (r *recordingIter) Release()   { r.released++ }
func (r *recordingIter) Err() error { return r.err }

func TestMultiIteratorReleaseAndErr(t *testing.T) {
	errA, errB := errors.New("a failed"), errors.New("b failed")
	a, b, c := &recordingIter{err: errA}, &recordingIter{}, &recordingIter{err: errB}
	it := storage.NewMultiIterator([]storage.Iterator{a, b, c})

	assert.False(t, it.Next())
	err := it.Err()
	assert.ErrorIs(t, err, errA)
	assert.ErrorIs(t, err, errB)

	it.Release()
	for i, sub := range []*recordingIter{a, b, c} {
		assert.Equal(t, 1, sub.released, "sub-iterator %d", i)
	}
	assert.False(t, it.Next(), "a released iterator is exhausted")
}

func TestMultiIteratorEmpty(t *testing.T) {
	it := storage.NewMultiIterator(nil)
	assert.False(t, it.Next())
	assert.False(t, it.Seek([]byte("a")))
	assert.NoError(t, it.Err())
	value, err := it.Value()
	assert.NoError(t, err)
	assert.Nil(t, value)
	it.Release()
}
