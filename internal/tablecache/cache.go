// Package tablecache keeps the rows an active processor partition reads and
// writes in memory, and writes its changes to the local store in batches.
//
// A processor callback reads and writes the row of its key for nearly every
// message. Sent straight to LevelDB, every write is a journal append and a
// system call and every read a memtable search; a profile of the counting
// workload spent over half of its time there. The cache answers reads of
// known keys from memory and collects writes until a batch is worth writing.
//
// Holding writes back is safe because the partition's store is marked dirty
// while it runs (see internal/table.DirtyOffset): after a crash the store is
// rebuilt from the table topic whatever it held, and a clean stop flushes
// the cache before it stores the real offset.
//
// The caches of a processor's partitions share one Budget of bytes: a
// partition that writes many distinct keys takes memory from those that sit
// idle, and the processor's total stays bounded whatever its number of
// partitions and the size of its rows.
package tablecache

import (
	"sync"

	"github.com/seed-b2c684ed/goka/storage"
)

const (
	// DefaultFlushEntries is the number of changed rows that triggers a
	// batch write.
	DefaultFlushEntries = 1024
	// flushBytes is the size of changed values that triggers a batch write
	// whatever their number, so large values cannot pile up.
	flushBytes = 4 << 20
)

// Config is how a cache writes and what it keeps.
type Config struct {
	// FlushEntries is the number of changed rows that triggers a batch
	// write; zero or less: DefaultFlushEntries.
	FlushEntries int
	// KeepClean keeps rows after they are written and rows read from the
	// store, so repeated reads of a key cost no store lookup. Off when
	// something else may write the store (the tester's SetTableValue):
	// then only changes not yet written are held, and every other read
	// goes to the store.
	KeepClean bool
	// Budget bounds the memory of the cache and of those sharing it; nil:
	// a budget of DefaultBudgetBytes of its own.
	Budget *Budget
}

// Cache is a write-back cache in front of a storage. Every method is safe
// for concurrent use: one partition goroutine writes, Processor.Get reads
// from anywhere, and the write of another partition sharing the budget may
// evict rows.
type Cache struct {
	st           storage.Storage
	flushEntries int
	keepClean    bool
	budget       *Budget
	acct         *account // the bytes the cache charges to budget

	mu         sync.RWMutex
	rows       map[string]row
	dirty      []string // keys of the rows changed since the last flush
	dirtyBytes int
	batch      storage.Batch
	// released is set by Release, which takes the cache off the budget's
	// candidates for eviction; the next row added puts it back.
	released bool
}

// row is a cached row: its value, or a deletion, and whether the store has
// it yet.
type row struct {
	value   []byte
	deleted bool
	dirty   bool
}

// size is what the row of key costs the budget.
func (r row) size(key string) int64 {
	return int64(len(key) + len(r.value) + rowOverhead)
}

// New returns a cache over st.
func New(st storage.Storage, cfg Config) *Cache {
	if cfg.FlushEntries <= 0 {
		cfg.FlushEntries = DefaultFlushEntries
	}
	if cfg.Budget == nil {
		cfg.Budget = NewBudget(0)
	}
	c := &Cache{
		st:           st,
		flushEntries: cfg.FlushEntries,
		keepClean:    cfg.KeepClean,
		budget:       cfg.Budget,
		acct:         new(account),
		rows:         make(map[string]row),
	}
	c.budget.add(c)
	c.budget.watch(c)
	return c
}

// Get returns a copy of the key's value, nil when absent.
func (c *Cache) Get(key string) ([]byte, error) {
	c.mu.RLock()
	r, ok := c.rows[key]
	c.mu.RUnlock()
	if ok {
		if r.deleted {
			return nil, nil
		}
		return append([]byte{}, r.value...), nil
	}
	value, err := c.st.Get(key)
	if err != nil {
		return nil, err
	}
	if !c.keepClean {
		return value, nil
	}
	c.mu.Lock()
	if _, ok := c.rows[key]; !ok {
		// Kept as read; a copy, since the caller may keep what it got.
		c.setLocked(key, row{value: append([]byte(nil), value...), deleted: value == nil})
	}
	c.mu.Unlock()
	return value, c.budget.fit(c)
}

// Has reports whether the key has a value.
func (c *Cache) Has(key string) (bool, error) {
	value, err := c.Get(key)
	return value != nil, err
}

// Set caches the key's new value, copied, and writes a batch when enough
// rows changed.
func (c *Cache) Set(key string, value []byte) error {
	return c.put(key, row{value: append(make([]byte, 0, len(value)), value...), dirty: true})
}

// Delete caches the key's deletion.
func (c *Cache) Delete(key string) error {
	return c.put(key, row{deleted: true, dirty: true})
}

func (c *Cache) put(key string, r row) error {
	c.mu.Lock()
	if old, ok := c.rows[key]; !ok || !old.dirty {
		c.dirty = append(c.dirty, key)
	}
	c.setLocked(key, r)
	c.dirtyBytes += len(key) + len(r.value)
	var err error
	if len(c.dirty) >= c.flushEntries || c.dirtyBytes >= flushBytes {
		err = c.flushLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	// Evicting takes other caches' locks: not while holding this one.
	return c.budget.fit(c)
}

// setLocked stores the row of key and charges the budget for it.
func (c *Cache) setLocked(key string, r row) {
	delta := r.size(key)
	if old, ok := c.rows[key]; ok {
		delta -= old.size(key)
	}
	if c.released {
		c.released = false
		c.budget.add(c)
	}
	c.rows[key] = r
	c.budget.charge(c.acct, delta)
}

// dropLocked forgets the row of key and gives its bytes back.
func (c *Cache) dropLocked(key string, r row) {
	delete(c.rows, key)
	c.budget.charge(c.acct, -r.size(key))
}

// Flush writes every changed row to the store in one batch.
func (c *Cache) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

func (c *Cache) flushLocked() error {
	if len(c.dirty) == 0 {
		return nil
	}
	c.batch.Reset()
	for _, key := range c.dirty {
		r := c.rows[key]
		if r.deleted {
			c.batch.Delete(key)
		} else {
			c.batch.Set(key, r.value)
		}
	}
	if err := storage.WriteBatch(c.st, &c.batch); err != nil {
		return err
	}
	for _, key := range c.dirty {
		r := c.rows[key]
		if !c.keepClean {
			c.dropLocked(key, r)
			continue
		}
		r.dirty = false
		c.rows[key] = r
	}
	c.dirty = c.dirty[:0]
	c.dirtyBytes = 0
	return nil
}

// shrink evicts rows until need bytes are freed or the cache is empty:
// unchanged rows first (map order is as good as any), then, if that is not
// enough, the changed ones once a batch has written them.
func (c *Cache) shrink(need int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	need -= c.evictCleanLocked(need)
	if need <= 0 || len(c.dirty) == 0 {
		return nil
	}
	if err := c.flushLocked(); err != nil {
		return err
	}
	c.evictCleanLocked(need)
	return nil
}

// evictCleanLocked drops unchanged rows until need bytes are freed, and
// returns the bytes freed.
func (c *Cache) evictCleanLocked(need int64) int64 {
	var freed int64
	for key, r := range c.rows {
		if freed >= need {
			break
		}
		if r.dirty {
			continue
		}
		c.dropLocked(key, r)
		freed += r.size(key)
	}
	return freed
}

// Release drops every row, changed ones included (Flush first to keep
// them), and gives the cache's bytes back to the budget. For a cache that
// is no longer used; one that is used again charges the budget again.
func (c *Cache) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows = make(map[string]row)
	c.dirty = c.dirty[:0]
	c.dirtyBytes = 0
	c.released = true
	c.budget.forget(c.acct)
}

// Bytes returns what the cache charges its budget.
func (c *Cache) Bytes() int64 { return c.acct.bytes.Load() }

// Dirty returns the number of changed rows not written yet.
func (c *Cache) Dirty() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.dirty)
}
