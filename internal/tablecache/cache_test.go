package tablecache

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// counting counts the writes that reach the store.
type counting struct {
	storage.Storage
	mu      sync.Mutex
	batches int
	fail    error
}

func (c *counting) WriteBatch(b *storage.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.batches++
	return storage.WriteBatch(c.Storage, b)
}

func TestReadsOwnWritesBeforeTheyReachTheStore(t *testing.T) {
	st := &counting{Storage: storage.NewMemory()}
	c := New(st, Config{FlushEntries: 10, KeepClean: true})
	require.NoError(t, st.Set("old", []byte("1")))

	require.NoError(t, c.Set("new", []byte("2")))
	require.NoError(t, c.Delete("old"))
	v, err := c.Get("new")
	require.NoError(t, err)
	assert.Equal(t, []byte("2"), v)
	v, err = c.Get("old")
	require.NoError(t, err)
	assert.Nil(t, v, "a cached delete hides the stored value")
	ok, err := c.Has("new")
	require.NoError(t, err)
	assert.True(t, ok)

	stored, _ := st.Get("new")
	assert.Nil(t, stored, "not written before a flush")
	assert.Equal(t, 2, c.Dirty())

	require.NoError(t, c.Flush())
	stored, _ = st.Get("new")
	assert.Equal(t, []byte("2"), stored)
	stored, _ = st.Get("old")
	assert.Nil(t, stored)
	assert.Equal(t, 1, st.batches)
	assert.Zero(t, c.Dirty())
}

func TestWritesBatchWhenEnoughRowsChanged(t *testing.T) {
	st := &counting{Storage: storage.NewMemory()}
	c := New(st, Config{FlushEntries: 10, KeepClean: true})
	for i := 0; i < 25; i++ {
		require.NoError(t, c.Set("k"+strconv.Itoa(i%12), []byte(strconv.Itoa(i))))
	}
	// Rows 0..9 changed: one batch; then 10,11 and 0..7 again: a second.
	assert.Equal(t, 2, st.batches)
	require.NoError(t, c.Flush())
	for i := 13; i < 25; i++ {
		v, err := st.Get("k" + strconv.Itoa(i%12))
		require.NoError(t, err)
		assert.Equal(t, []byte(strconv.Itoa(i)), v, "the store ends with the last value of every key")
	}
}

func TestValuesAreCopies(t *testing.T) {
	c := New(storage.NewMemory(), Config{FlushEntries: 10, KeepClean: true})
	in := []byte("abc")
	require.NoError(t, c.Set("k", in))
	in[0] = 'X'
	out, err := c.Get("k")
	require.NoError(t, err)
	assert.Equal(t, []byte("abc"), out, "the caller's slice is not kept")
	out[0] = 'Y'
	again, _ := c.Get("k")
	assert.Equal(t, []byte("abc"), again, "the returned slice is not the cached one")
}

func TestReadRowsStayWithinTheBudget(t *testing.T) {
	st := storage.NewMemory()
	for i := 0; i < 1000; i++ {
		require.NoError(t, st.Set("k"+strconv.Itoa(i), []byte("v")))
	}
	budget := NewBudget(50 * (rowOverhead + 5))
	c := New(st, Config{FlushEntries: 10, KeepClean: true, Budget: budget})
	for i := 0; i < 1000; i++ {
		v, err := c.Get("k" + strconv.Itoa(i))
		require.NoError(t, err)
		require.Equal(t, []byte("v"), v)
		require.LessOrEqual(t, budget.Used(), budget.Limit())
	}
	assert.LessOrEqual(t, len(c.rows), 50)
	assert.Greater(t, len(c.rows), 40, "an eviction frees a sixteenth of the budget, not everything")
}

func TestFailedFlushKeepsTheChanges(t *testing.T) {
	st := &counting{Storage: storage.NewMemory(), fail: errors.New("disk full")}
	c := New(st, Config{FlushEntries: 100, KeepClean: true})
	require.NoError(t, c.Set("k", []byte("v")))
	require.Error(t, c.Flush())
	assert.Equal(t, 1, c.Dirty())
	st.fail = nil
	require.NoError(t, c.Flush())
	v, _ := st.Get("k")
	assert.Equal(t, []byte("v"), v)
}

func TestConcurrentReadersAndAWriter(t *testing.T) {
	c := New(storage.NewMemory(), Config{FlushEntries: 16, KeepClean: true})
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				_, err := c.Get("k" + strconv.Itoa(i%100))
				assert.NoError(t, err)
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		require.NoError(t, c.Set("k"+strconv.Itoa(i%100), []byte(strconv.Itoa(i))))
	}
	wg.Wait()
	require.NoError(t, c.Flush())
}

func BenchmarkSetGet(b *testing.B) {
	c := New(storage.NewMemory(), Config{FlushEntries: 0, KeepClean: true})
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	value := make([]byte, 100)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		k := keys[i%len(keys)]
		if _, err := c.Get(k); err != nil {
			b.Fatal(err)
		}
		if err := c.Set(k, value); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWithoutKeepCleanReadsGoToTheStore(t *testing.T) {
	st := storage.NewMemory()
	c := New(st, Config{FlushEntries: 10})
	require.NoError(t, c.Set("k", []byte("cached")))
	require.NoError(t, c.Flush())
	// Someone else writes the store (the tester's SetTableValue).
	require.NoError(t, st.Set("k", []byte("outside")))
	v, err := c.Get("k")
	require.NoError(t, err)
	assert.Equal(t, []byte("outside"), v)
	assert.Empty(t, c.rows)
}
