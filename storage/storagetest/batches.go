package storagetest

import (
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// writeBatch is storage.WriteBatch; named here so the tests read as steps.
var writeBatch = storage.WriteBatch

// batchOf builds a batch of sets (in key order), then deletes, then the
// offset when it is not negative.
func batchOf(sets map[string]string, deletes []string, offset int64) *storage.Batch {
	b := new(storage.Batch)
	keys := make([]string, 0, len(sets))
	for k := range sets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.Set(k, []byte(sets[k]))
	}
	for _, k := range deletes {
		b.Delete(k)
	}
	if offset >= 0 {
		b.SetOffset(offset)
	}
	return b
}

func testBatch(t *testing.T, e *env) {
	checkBatch(t, e.fresh(t))
}

func testBatchFallback(t *testing.T, e *env) {
	checkBatch(t, withoutBatchWriter{e.fresh(t)})
}

// checkBatch applies batches through storage.WriteBatch and checks the
// result; the caller decides which path WriteBatch takes.
func checkBatch(t *testing.T, st storage.Storage) {
	set(t, st, "a", "1", "b", "2")
	require.NoError(t, st.SetOffset(3))

	b := new(storage.Batch)
	value := []byte("10")
	b.Set("a", value)
	value[0] = 'X' // the batch must have copied it
	b.Delete("b")
	b.Set("c", nil)
	b.Set("d", []byte("4"))
	b.Delete("never-set")
	b.Set("x", []byte("gone"))
	b.Delete("x")
	b.Delete("y")
	b.Set("y", []byte("back"))
	b.SetOffset(6)
	b.SetOffset(7) // the last offset wins
	require.NoError(t, writeBatch(st, b))

	assert.Equal(t, pairs("a", "10", "c", "", "d", "4", "y", "back"), all(t, st), "ops apply in order")
	assert.NotNil(t, get(t, st, "c"), "a nil value in a batch stores an empty value")
	assert.True(t, has(t, st, "c"))
	assert.False(t, has(t, st, "b"))
	assert.Equal(t, int64(7), offset(t, st, -3), "the batch offset is stored")

	b.Reset()
	b.Set("e", []byte("5"))
	require.NoError(t, writeBatch(st, b))
	assert.Equal(t, []byte("5"), get(t, st, "e"))
	assert.Equal(t, int64(7), offset(t, st, -3), "a batch without offset keeps the stored one")

	b.Reset()
	require.NoError(t, writeBatch(st, b), "an empty batch is fine")
	assert.Equal(t, int64(7), offset(t, st, -3))

	b.SetOffset(8)
	require.NoError(t, writeBatch(st, b), "a batch may carry only an offset")
	assert.Equal(t, int64(8), offset(t, st, -3))
	assert.Len(t, all(t, st), 5, "an offset-only batch changes no data")
}

// testBatchAtomicity checks, for backends that implement BatchWriter, that
// readers never see part of a batch: every batch sets all keys to the same
// number and the offset to that number.
func testBatchAtomicity(t *testing.T, e *env) {
	st := e.fresh(t)
	if _, ok := st.(storage.BatchWriter); !ok {
		t.Skip("the backend does not implement storage.BatchWriter")
	}
	const keys, rounds, readers = 10, 200, 3

	done := make(chan struct{})
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if !checkConsistent(t, st, keys) {
					return
				}
			}
		})
	}

	var b storage.Batch
	for round := range rounds {
		b.Reset()
		for k := range keys {
			b.Set("k"+strconv.Itoa(k), []byte(strconv.Itoa(round)))
		}
		b.SetOffset(int64(round))
		if !assert.NoError(t, writeBatch(st, &b)) {
			break
		}
	}
	close(done)
	wg.Wait()
	assert.True(t, checkConsistent(t, st, keys))
	assert.Equal(t, int64(rounds-1), offset(t, st, -1))
}

// checkConsistent reads the offset, then a snapshot, and reports whether the
// snapshot holds one whole batch at least as new as the offset. It uses
// assert, not require, because it runs on reader goroutines.
func checkConsistent(t *testing.T, st storage.Storage, keys int) bool {
	off, err := st.GetOffset(-1)
	if !assert.NoError(t, err) {
		return false
	}
	it, err := st.Iterator()
	if !assert.NoError(t, err) {
		return false
	}
	defer it.Release()
	var values []int64
	for it.Next() {
		raw, err := it.Value()
		if !assert.NoError(t, err) {
			return false
		}
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if !assert.NoError(t, err) {
			return false
		}
		values = append(values, v)
	}
	if !assert.NoError(t, it.Err()) {
		return false
	}
	if off < 0 && len(values) == 0 {
		return true // no batch written yet
	}
	if !assert.Len(t, values, keys, "a snapshot holds part of a batch") {
		return false
	}
	for _, v := range values {
		if !assert.Equal(t, values[0], v, "a snapshot mixes two batches: %v", values) {
			return false
		}
	}
	return assert.GreaterOrEqual(t, values[0], off, "the offset ran ahead of the data")
}
