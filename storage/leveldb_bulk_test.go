package storage_test

import (
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/storagetest"
)

// bulkWriteBuffer is the memtable size of the bulk-load tests: a restore
// switches after four of them, 256 KiB.
const bulkWriteBuffer = 64 << 10

func newBulkStore(t *testing.T) storage.Storage {
	t.Helper()
	st, err := storage.BuilderWithOptions(t.TempDir(), &opt.Options{WriteBuffer: bulkWriteBuffer})("table", 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// restoreBatch writes keys [from, from+n) with 1 KiB values and offset
// from+n-1, as one batch of a restore.
func restoreBatch(t *testing.T, st storage.Storage, from, n int) {
	t.Helper()
	var b storage.Batch
	for i := from; i < from+n; i++ {
		b.Set("key-"+strconv.Itoa(i), valueFor(i))
	}
	b.SetOffset(int64(from + n - 1))
	require.NoError(t, storage.WriteBatch(st, &b))
}

func valueFor(i int) []byte {
	v := make([]byte, 1024)
	copy(v, strconv.Itoa(i))
	return v
}

func requireRestored(t *testing.T, st storage.Storage, n int) {
	t.Helper()
	for i := range n {
		v, err := st.Get("key-" + strconv.Itoa(i))
		require.NoError(t, err)
		require.Equal(t, valueFor(i), v, "key-%d", i)
	}
	off, err := st.GetOffset(-1)
	require.NoError(t, err)
	require.Equal(t, int64(n-1), off)
}

// A restore that has written four memtables' worth switches the store to
// the bulk-load options, and MarkRecovered switches it back; readers see
// every record throughout, and a store marked recovered does not switch
// again.
func TestLevelDBBulkLoadWhileRestoring(t *testing.T) {
	st := newBulkStore(t)

	// Readers run across both switches.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := st.Get("key-0")
				if !assert.NoError(t, err) {
					return
				}
				if v != nil && !assert.Equal(t, valueFor(0), v) {
					return
				}
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	restoreBatch(t, st, 0, 100) // 100 KiB
	assert.False(t, storage.BulkLoading(st), "a restore of less than four memtables keeps the store's options")
	for from := 100; from < 400; from += 100 {
		restoreBatch(t, st, from, 100)
	}
	assert.True(t, storage.BulkLoading(st), "after four memtables' worth the restore loads in bulk")
	assert.Equal(t, 1, storage.Reopens(st))
	requireRestored(t, st, 400)

	require.NoError(t, st.MarkRecovered())
	assert.False(t, storage.BulkLoading(st), "MarkRecovered restores the store's own options")
	assert.Equal(t, 2, storage.Reopens(st))
	requireRestored(t, st, 400)

	for from := 400; from < 800; from += 100 {
		restoreBatch(t, st, from, 100)
	}
	assert.False(t, storage.BulkLoading(st), "a recovered store keeps its options")
	assert.Equal(t, 2, storage.Reopens(st))
	requireRestored(t, st, 800)
}

// A restore too small to fill four memtables never reopens the store: the
// reopen replays the journal, which would cost it more than it saves.
func TestLevelDBBulkLoadSmallRestore(t *testing.T) {
	st := newBulkStore(t)
	restoreBatch(t, st, 0, 200)
	require.NoError(t, st.MarkRecovered())
	assert.False(t, storage.BulkLoading(st))
	assert.Zero(t, storage.Reopens(st))
	requireRestored(t, st, 200)
}

// goleveldb must not close a database under an open iterator: the switch
// waits until the iterators are released and happens at a later write.
func TestLevelDBBulkLoadWaitsForIterators(t *testing.T) {
	st := newBulkStore(t)
	restoreBatch(t, st, 0, 100)
	it, err := st.Iterator()
	require.NoError(t, err)
	for from := 100; from < 400; from += 100 {
		restoreBatch(t, st, from, 100)
	}
	assert.False(t, storage.BulkLoading(st), "no switch under an open iterator")
	require.True(t, it.Next())
	it.Release()

	restoreBatch(t, st, 400, 1)
	assert.True(t, storage.BulkLoading(st), "the next write switches")

	it, err = st.Iterator()
	require.NoError(t, err)
	require.NoError(t, st.MarkRecovered())
	assert.True(t, storage.BulkLoading(st), "no switch back under an open iterator")
	n := 0
	for it.Next() {
		n++
	}
	require.NoError(t, it.Err())
	assert.Equal(t, 401, n, "the iterator reads its snapshot to the end")
	it.Release()

	require.NoError(t, st.Set("late", []byte("v")))
	assert.False(t, storage.BulkLoading(st), "the next write after MarkRecovered switches back")
	requireRestored(t, st, 401)
}

// Close waits for a switch and a write in progress rather than racing them
// (goleveldb's own Close races a big write), and every operation afterwards
// fails with ErrClosed.
func TestLevelDBBulkLoadClose(t *testing.T) {
	st := newBulkStore(t)
	restoreBatch(t, st, 0, 300)
	done := make(chan error, 1)
	go func() {
		var b storage.Batch
		b.Set("k", make([]byte, 200<<10)) // crosses the threshold
		b.SetOffset(300)
		done <- storage.WriteBatch(st, &b)
	}()
	require.NoError(t, st.Close())
	select {
	case err := <-done:
		if err != nil {
			assert.ErrorIs(t, err, storage.ErrClosed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write did not return after Close")
	}
	_, err := st.Get("key-0")
	assert.ErrorIs(t, err, storage.ErrClosed)
	assert.NoError(t, st.Close())
}

// A database handed to New has no path to reopen: it keeps its options.
func TestLevelDBNewNoBulkLoad(t *testing.T) {
	db, err := leveldb.OpenFile(filepath.Join(t.TempDir(), "db"), &opt.Options{WriteBuffer: bulkWriteBuffer})
	require.NoError(t, err)
	st, err := storage.New(db)
	require.NoError(t, err)
	defer st.Close()
	for from := 0; from < 400; from += 100 {
		restoreBatch(t, st, from, 100)
	}
	assert.False(t, storage.BulkLoading(st))
	require.NoError(t, st.MarkRecovered())
	requireRestored(t, st, 400)
}

// The conformance suite with a store that switches to bulk loading at its
// first write: the contract holds across the switch.
func TestLevelDBBulkLoadConformance(t *testing.T) {
	defer storage.SetBulkThreshold(1)()
	storagetest.Run(t, func(t *testing.T) storage.Builder {
		return storage.BuilderWithOptions(t.TempDir(), &opt.Options{WriteBuffer: bulkWriteBuffer})
	}, storagetest.Capabilities{Persistent: true})
}

// A switch that cannot reopen the database leaves the store broken: the
// write that called for it and every later operation return the error,
// which names the directory, and Close still succeeds.
func TestLevelDBBulkLoadReopenFails(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.BuilderWithOptions(dir, &opt.Options{WriteBuffer: bulkWriteBuffer})("table", 3)
	require.NoError(t, err)
	cause := errors.New("disk gone")
	storage.FailReopen(st, cause)

	var b storage.Batch
	b.Set("k", make([]byte, 300<<10))
	b.SetOffset(0)
	err = storage.WriteBatch(st, &b)
	require.ErrorIs(t, err, cause)
	assert.ErrorContains(t, err, filepath.Join(dir, "table.3"))

	_, err = st.Get("k")
	assert.ErrorIs(t, err, cause)
	assert.ErrorIs(t, st.Set("k", []byte("v")), cause)
	_, err = st.Iterator()
	assert.ErrorIs(t, err, cause)
	assert.NoError(t, st.Close())
	_, err = st.Get("k")
	assert.ErrorIs(t, err, storage.ErrClosed)
}
