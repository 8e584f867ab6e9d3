package tablecache

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// maxValue is the largest value the budget tests write; a row of key k
// costs at most len(k)+maxValue+rowOverhead.
const maxValue = 300

func randomValue(rng *rand.Rand) []byte {
	v := make([]byte, rng.IntN(maxValue+1))
	for i := range v {
		v[i] = byte('a' + rng.IntN(26))
	}
	return v
}

// model is what a table must hold: the last value written for every key,
// nil for a deleted one.
type model map[string][]byte

func (m model) check(t *testing.T, name string, c *Cache, st storage.Storage) {
	t.Helper()
	for key, want := range m {
		got, err := c.Get(key)
		require.NoError(t, err)
		require.Equal(t, want, got, "%s: key %s through the cache", name, key)
	}
	require.NoError(t, c.Flush())
	for key, want := range m {
		got, err := st.Get(key)
		require.NoError(t, err)
		require.Equal(t, want, got, "%s: key %s in the store", name, key)
	}
}

func TestBudgetIsNeverExceededByMoreThanOneRow(t *testing.T) {
	const key = "key-0000" // every key has this length
	maxRow := int64(len(key) + maxValue + rowOverhead)
	budget := NewBudget(20 << 10)
	st := storage.NewMemory()
	c := New(st, Config{KeepClean: true, Budget: budget})
	rng := rand.New(rand.NewPCG(1, 2))
	want := make(model)
	for i := 0; i < 20000; i++ {
		k := fmt.Sprintf("key-%04d", rng.IntN(2000))
		switch rng.IntN(4) {
		case 0:
			_, err := c.Get(k)
			require.NoError(t, err)
		case 1:
			require.NoError(t, c.Delete(k))
			want[k] = nil
		default:
			v := randomValue(rng)
			require.NoError(t, c.Set(k, v))
			want[k] = v
		}
		require.LessOrEqual(t, budget.Used(), budget.Limit(), "after operation %d returned", i)
		require.Equal(t, budget.Used(), c.Bytes(), "the only cache holds all the budget's bytes")
	}
	assert.Greater(t, budget.Peak(), budget.Limit(), "the workload filled the budget")
	assert.LessOrEqual(t, budget.Peak(), budget.Limit()+maxRow, "exceeded by at most one row while it evicts")
	want.check(t, "one cache", c, st)
}

func TestEvictionTakesFromTheLargestCache(t *testing.T) {
	budget := NewBudget(64 << 10)
	idleStore := storage.NewMemory()
	for i := 0; i < 1000; i++ {
		require.NoError(t, idleStore.Set(fmt.Sprintf("idle-%04d", i), make([]byte, 100)))
	}
	idle := New(idleStore, Config{KeepClean: true, Budget: budget})
	for i := 0; i < 1000; i++ {
		_, err := idle.Get(fmt.Sprintf("idle-%04d", i))
		require.NoError(t, err)
	}
	full := idle.Bytes()
	require.Greater(t, full, budget.Limit()*7/8, "the idle partition's reads filled the budget")

	busy := New(storage.NewMemory(), Config{KeepClean: true, Budget: budget})
	for i := 0; i < 100; i++ {
		require.NoError(t, busy.Set(fmt.Sprintf("busy-%04d", i), make([]byte, 100)))
	}
	assert.LessOrEqual(t, budget.Used(), budget.Limit())
	assert.Less(t, idle.Bytes(), full, "the idle cache gave up rows")
	assert.Equal(t, int64(100*(9+100+rowOverhead)), busy.Bytes(), "the busy cache kept every row it wrote")
	assert.Equal(t, budget.Used(), idle.Bytes()+busy.Bytes())
}

func TestEvictionWritesChangedRowsFirst(t *testing.T) {
	budget := NewBudget(16 << 10)
	a, b := storage.NewMemory(), storage.NewMemory()
	ca := New(a, Config{FlushEntries: 1 << 20, KeepClean: true, Budget: budget})
	cb := New(b, Config{FlushEntries: 1 << 20, KeepClean: true, Budget: budget})
	wantA, wantB := make(model), make(model)
	for i := 0; i < 500; i++ {
		k := fmt.Sprintf("k%03d", i)
		v := []byte(fmt.Sprintf("value %d", i))
		require.NoError(t, ca.Set(k, v))
		wantA[k] = v
		require.NoError(t, cb.Set(k, append(v, '!')))
		wantB[k] = append(v, '!')
	}
	assert.LessOrEqual(t, budget.Used(), budget.Limit())
	// No batch was full: what left the caches was written by an eviction.
	stored, err := a.Get("k000")
	require.NoError(t, err)
	assert.Equal(t, []byte("value 0"), stored)
	wantA.check(t, "a", ca, a)
	wantB.check(t, "b", cb, b)
}

func TestConcurrentCachesShareOneBudget(t *testing.T) {
	const partitions = 4
	maxRow := int64(len("p0-k0000") + maxValue + rowOverhead)
	budget := NewBudget(32 << 10)
	var wg sync.WaitGroup
	caches := make([]*Cache, partitions)
	stores := make([]storage.Storage, partitions)
	models := make([]model, partitions)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for p := range partitions {
		stores[p] = storage.NewMemory()
		caches[p] = New(stores[p], Config{FlushEntries: 64, KeepClean: true, Budget: budget})
		models[p] = make(model)
		// Processor.Get reads from other goroutines while the partition
		// writes.
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(p), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := caches[p].Get(fmt.Sprintf("p%d-k%04d", p, rng.IntN(1000)))
				assert.NoError(t, err)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(p), 3))
			for i := 0; i < 5000; i++ {
				k := fmt.Sprintf("p%d-k%04d", p, rng.IntN(1000))
				if rng.IntN(5) == 0 {
					assert.NoError(t, caches[p].Delete(k))
					models[p][k] = nil
					continue
				}
				v := randomValue(rng)
				assert.NoError(t, caches[p].Set(k, v))
				models[p][k] = v
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	// A writer and a reader per cache: 2*partitions goroutines add rows.
	assert.LessOrEqual(t, budget.Peak(), budget.Limit()+2*partitions*maxRow, "at most one row per goroutine adding one at once")
	var sum int64
	for p := range partitions {
		sum += caches[p].Bytes()
	}
	assert.Equal(t, budget.Used(), sum)
	for p := range partitions {
		models[p].check(t, fmt.Sprintf("partition %d", p), caches[p], stores[p])
	}
}

func TestReleaseGivesTheBytesBack(t *testing.T) {
	budget := NewBudget(1 << 20)
	c := New(storage.NewMemory(), Config{KeepClean: true, Budget: budget})
	require.NoError(t, c.Set("k", []byte("v")))
	require.NotZero(t, budget.Used())
	c.Release()
	assert.Zero(t, budget.Used())
	assert.Empty(t, budget.largestFirst(), "a released cache is not evicted from")
	c.Release() // idempotent

	require.NoError(t, c.Set("k", []byte("again")))
	assert.Equal(t, c.Bytes(), budget.Used(), "used again, it charges again")
	assert.Len(t, budget.largestFirst(), 1)
}

func TestCollectedCacheGivesItsBytesBack(t *testing.T) {
	budget := NewBudget(1 << 20)
	func() {
		c := New(storage.NewMemory(), Config{KeepClean: true, Budget: budget})
		require.NoError(t, c.Set("k", []byte("v")))
	}()
	require.NotZero(t, budget.Used())
	require.Eventually(t, func() bool {
		runtime.GC()
		return budget.Used() == 0
	}, 5*time.Second, 10*time.Millisecond, "a cache dropped without Release is given back once collected")
}

func TestAFailedEvictionIsTheWritersErrorOnly(t *testing.T) {
	budget := NewBudget(8 << 10)
	failing := &counting{Storage: storage.NewMemory(), fail: errors.New("disk full")}
	broken := New(failing, Config{FlushEntries: 1 << 20, KeepClean: true, Budget: budget})
	var err error
	for i := 0; err == nil && i < 1000; i++ {
		err = broken.Set(fmt.Sprintf("k%03d", i), make([]byte, 100))
	}
	require.ErrorContains(t, err, "disk full", "the cache that cannot write its rows to make room says so")
	assert.NotZero(t, broken.Dirty(), "and keeps them")

	healthy := New(storage.NewMemory(), Config{KeepClean: true, Budget: budget})
	for i := 0; i < 100; i++ {
		require.NoError(t, healthy.Set(fmt.Sprintf("k%03d", i), make([]byte, 100)),
			"another partition's broken store is not this write's error")
	}
	failing.mu.Lock()
	failing.fail = nil
	failing.mu.Unlock()
	require.NoError(t, broken.Flush())
}
