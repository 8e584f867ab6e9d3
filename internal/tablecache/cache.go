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
package tablecache

import (
	"sync"

	"github.com/seed-b2c684ed/goka/storage"
)

// Defaults for New's limits.
const (
	// DefaultFlushEntries is the number of changed rows that triggers a
	// batch write.
	DefaultFlushEntries = 1024
	// DefaultMaxEntries bounds the rows kept in memory; clean rows are
	// dropped beyond it.
	DefaultMaxEntries = 1 << 16
	// flushBytes is the size of changed values that triggers a batch write
	// whatever their number, so large values cannot pile up.
	flushBytes = 4 << 20
)

// Cache is a write-back cache in front of a storage. Every method is safe
// for concurrent use: one partition goroutine writes, Processor.Get reads
// from anywhere.
type Cache struct {
	st           storage.Storage
	flushEntries int
	maxEntries   int
	// keepClean keeps rows after they are written and rows read from the
	// store, so repeated reads of a key cost no store lookup. Off when
	// something else may write the store (the tester's SetTableValue).
	keepClean bool

	mu         sync.RWMutex
	rows       map[string]row
	dirty      []string // keys of the rows changed since the last flush
	dirtyBytes int
	batch      storage.Batch
}

// row is a cached row: its value, or a deletion, and whether the store has
// it yet.
type row struct {
	value   []byte
	deleted bool
	dirty   bool
}

// New returns a cache over st. Zero limits take the defaults. Without
// keepClean only changes not yet written are held, and every other read goes
// to the store.
func New(st storage.Storage, flushEntries, maxEntries int, keepClean bool) *Cache {
	if flushEntries <= 0 {
		flushEntries = DefaultFlushEntries
	}
	if maxEntries < flushEntries {
		maxEntries = max(DefaultMaxEntries, flushEntries)
	}
	return &Cache{st: st, flushEntries: flushEntries, maxEntries: maxEntries, keepClean: keepClean, rows: make(map[string]row)}
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
	if _, ok := c.rows[key]; !ok && len(c.rows) < c.maxEntries {
		// Kept as read; a copy, since the caller may keep what it got.
		c.rows[key] = row{value: append([]byte(nil), value...), deleted: value == nil}
	}
	c.mu.Unlock()
	return value, nil
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
	defer c.mu.Unlock()
	if old, ok := c.rows[key]; !ok || !old.dirty {
		c.dirty = append(c.dirty, key)
	}
	c.rows[key] = r
	c.dirtyBytes += len(key) + len(r.value)
	if len(c.dirty) >= c.flushEntries || c.dirtyBytes >= flushBytes {
		return c.flushLocked()
	}
	return nil
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
		if !c.keepClean {
			delete(c.rows, key)
			continue
		}
		r := c.rows[key]
		r.dirty = false
		c.rows[key] = r
	}
	c.dirty = c.dirty[:0]
	c.dirtyBytes = 0
	// Beyond the bound, drop rows (all clean now); map order is as good as
	// any.
	for key := range c.rows {
		if len(c.rows) <= c.maxEntries {
			break
		}
		delete(c.rows, key)
	}
	return nil
}

// Dirty returns the number of changed rows not written yet.
func (c *Cache) Dirty() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.dirty)
}
