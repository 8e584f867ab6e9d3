package storagetest

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

func testLifecycle(t *testing.T, e *env) {
	st := e.fresh(t)
	require.NoError(t, st.Open(), "Open twice is fine")
	require.NoError(t, st.MarkRecovered())
	require.NoError(t, st.Close())
	require.NoError(t, st.Close(), "Close is idempotent")
}

func testUseAfterClose(t *testing.T, e *env) {
	checkUseAfterClose(t, e.fresh(t))
}

func testUseAfterCloseFallback(t *testing.T, e *env) {
	checkUseAfterClose(t, withoutBatchWriter{e.fresh(t)})
}

// checkUseAfterClose checks that every operation after Close fails with
// ErrClosed instead of panicking.
func checkUseAfterClose(t *testing.T, st storage.Storage) {
	set(t, st, "key", "value")
	require.NoError(t, st.Close())

	_, err := st.Has("key")
	assert.ErrorIs(t, err, storage.ErrClosed, "Has")
	_, err = st.Get("key")
	assert.ErrorIs(t, err, storage.ErrClosed, "Get")
	assert.ErrorIs(t, st.Set("key", []byte("v")), storage.ErrClosed, "Set")
	assert.ErrorIs(t, st.Delete("key"), storage.ErrClosed, "Delete")
	_, err = st.GetOffset(0)
	assert.ErrorIs(t, err, storage.ErrClosed, "GetOffset")
	assert.ErrorIs(t, st.SetOffset(1), storage.ErrClosed, "SetOffset")
	assert.ErrorIs(t, st.MarkRecovered(), storage.ErrClosed, "MarkRecovered")
	_, err = st.Iterator()
	assert.ErrorIs(t, err, storage.ErrClosed, "Iterator")
	_, err = st.IteratorWithRange([]byte("a"), []byte("b"))
	assert.ErrorIs(t, err, storage.ErrClosed, "IteratorWithRange")
	assert.ErrorIs(t, st.Open(), storage.ErrClosed, "Open")

	b := batchOf(map[string]string{"k": "v"}, nil, 5)
	assert.ErrorIs(t, storage.WriteBatch(st, b), storage.ErrClosed, "WriteBatch")
	if bw, ok := st.(storage.BatchWriter); ok {
		assert.ErrorIs(t, bw.WriteBatch(b), storage.ErrClosed, "BatchWriter.WriteBatch")
	}
	assert.NoError(t, st.Close(), "Close after Close")
}

// testConcurrentReadersOneWriter runs readers beside one writer; it is meant
// for the race detector, and checks only what holds whatever the
// interleaving.
func testConcurrentReadersOneWriter(t *testing.T, e *env) {
	st := e.fresh(t)
	const keys, writes, readers = 16, 600, 4
	discards := e.caps.Discards

	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			lastOffset := int64(-1)
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				key := "k" + strconv.Itoa((r+i)%keys)
				value, err := st.Get(key)
				if !assert.NoError(t, err) ||
					!assert.True(t, value == nil || bytes.HasPrefix(value, []byte(key+"=")), "torn value %q", value) {
					return
				}
				if _, err := st.Has(key); !assert.NoError(t, err) {
					return
				}
				off, err := st.GetOffset(-1)
				if !assert.NoError(t, err) || !assert.GreaterOrEqual(t, off, lastOffset, "offset went back") {
					return
				}
				lastOffset = off
				if !readAll(t, st, discards) {
					return
				}
			}
		})
	}

	for i := range writes {
		key := "k" + strconv.Itoa(i%keys)
		var err error
		if i%7 == 0 {
			err = st.Delete(key)
		} else {
			err = st.Set(key, []byte(key+"="+strconv.Itoa(i)))
		}
		if !assert.NoError(t, err) || !assert.NoError(t, st.SetOffset(int64(i))) {
			break
		}
	}
	close(done)
	wg.Wait()
}

// readAll iterates over st and checks what any snapshot must satisfy.
func readAll(t *testing.T, st storage.Storage, discards bool) bool {
	it, err := st.Iterator()
	if !assert.NoError(t, err) {
		return false
	}
	defer it.Release()
	var keys []string
	for it.Next() {
		key := string(it.Key())
		value, err := it.Value()
		if !assert.NoError(t, err) || !assert.True(t, bytes.HasPrefix(value, []byte(key+"=")), "torn value %q", value) {
			return false
		}
		keys = append(keys, key)
	}
	if discards {
		return assert.Empty(t, keys)
	}
	return assert.NoError(t, it.Err()) && assert.True(t, slices.IsSorted(keys), "keys out of order: %v", keys)
}

// testDiscards checks the part of the contract that backends which keep
// nothing follow.
func testDiscards(t *testing.T, e *env) {
	st := e.fresh(t)

	require.NoError(t, st.Set("key", []byte("value")), "writes are accepted")
	require.NoError(t, st.Set("nil", nil))
	require.NoError(t, st.Delete("key"))
	require.NoError(t, st.Delete("missing"))
	assert.Nil(t, get(t, st, "key"), "nothing is kept")
	assert.False(t, has(t, st, "key"), "nothing is kept")

	assert.Equal(t, int64(-3), offset(t, st, -3))
	require.NoError(t, st.SetOffset(5))
	assert.Equal(t, int64(-3), offset(t, st, -3), "no offset is kept")
	require.NoError(t, st.MarkRecovered())
	require.NoError(t, st.MarkRecovered(), "MarkRecovered is idempotent")

	assert.Empty(t, all(t, st))
	assert.Empty(t, inRange(t, st, []byte("a"), nil))
	assert.Empty(t, inRange(t, st, []byte("a"), []byte("z")))
	it, err := st.Iterator()
	require.NoError(t, err)
	assert.False(t, it.Seek([]byte("key")))
	assert.Empty(t, it.Key())
	value, err := it.Value()
	assert.NoError(t, err)
	assert.Nil(t, value)
	it.Release()
	it.Release()

	b := batchOf(map[string]string{"k": "v"}, []string{"x"}, 9)
	require.NoError(t, storage.WriteBatch(st, b))
	require.NoError(t, storage.WriteBatch(withoutBatchWriter{st}, b))
	assert.Nil(t, get(t, st, "k"))
	assert.Equal(t, int64(-3), offset(t, st, -3))
}
