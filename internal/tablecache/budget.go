package tablecache

import (
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"weak"
)

// DefaultBudgetBytes is the memory the row caches of one processor share
// when no other budget is chosen: 64 MiB. The rows a processor rewrites
// often are a small part of its table, and the cache only saves work on
// those; 64 MiB holds some 400,000 rows of 100 bytes, the working set of the
// counting and session workloads many times over, while staying small
// beside what a processor already needs (LevelDB keeps a write buffer and a
// block cache per open store, and a restore buffers up to 4 MiB per table
// partition). The old bound, 65,536 rows per partition whatever their size,
// let 64 partitions of 1 KiB rows hold over 4 GiB.
const DefaultBudgetBytes = 64 << 20

// rowOverhead estimates the bytes a cached row costs beyond its key and
// value: its map slot (a string header and the row, at the map's load
// factor), its entry in the list of changed rows, and the allocator's
// rounding of the key and value.
const rowOverhead = 96

// Budget bounds the memory of the row caches that share it: the caches of
// every partition of one processor. A cache whose write or read takes the
// budget past its limit evicts rows before it returns, from the largest
// caches first, its own included, writing their changed rows to their
// stores before it drops them. A goroutine that added a row waits until the
// eviction is done, so the budget is exceeded by at most one row per
// goroutine adding one at that moment (a partition's writer, a
// Processor.Get); with one, by at most one row.
type Budget struct {
	limit int64
	// lowWater is what an eviction frees down to, a sixteenth below the
	// limit, so that one eviction serves many writes.
	lowWater int64
	used     atomic.Int64
	peak     atomic.Int64

	// reclaim serialises evictions, so that two caches over the budget at
	// once do not both free what one eviction frees. It is taken before a
	// cache's lock, never while one is held.
	reclaim sync.Mutex

	mu sync.Mutex // guards caches
	// caches are the caches charging the budget. A cache dropped without
	// Release stays a candidate for eviction until the garbage collector
	// takes it, then a cleanup gives its bytes back.
	caches map[*account]weak.Pointer[Cache]
}

// account is the bytes one cache holds; it outlives the cache until the
// cleanup that returns them to the budget has run.
type account struct {
	bytes atomic.Int64
}

// NewBudget returns a budget of limit bytes; zero or less takes
// DefaultBudgetBytes.
func NewBudget(limit int64) *Budget {
	if limit <= 0 {
		limit = DefaultBudgetBytes
	}
	return &Budget{limit: limit, lowWater: limit - limit/16, caches: make(map[*account]weak.Pointer[Cache])}
}

// Limit returns the budget's bound in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used returns the bytes the caches hold now.
func (b *Budget) Used() int64 { return b.used.Load() }

// Peak returns the most bytes the caches held at once.
func (b *Budget) Peak() int64 { return b.peak.Load() }

// add makes c a candidate for eviction.
func (b *Budget) add(c *Cache) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.caches[c.acct] = weak.Make(c)
}

// watch gives the bytes of c back when c is collected without Release.
func (b *Budget) watch(c *Cache) {
	runtime.AddCleanup(c, b.forget, c.acct)
}

// forget gives back the bytes of a cache that is released or collected.
func (b *Budget) forget(a *account) {
	b.used.Add(-a.bytes.Swap(0))
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.caches, a)
}

// charge counts n more bytes (fewer when negative) held by a.
func (b *Budget) charge(a *account, n int64) {
	a.bytes.Add(n)
	used := b.used.Add(n)
	for n > 0 {
		peak := b.peak.Load()
		if used <= peak || b.peak.CompareAndSwap(peak, used) {
			return
		}
	}
}

// fit evicts rows until the caches hold no more than the low-water mark,
// largest cache first, when they hold more than the limit. Only self's
// error is returned: another cache whose changed rows cannot be written
// keeps them, and its own partition meets the error at its next flush.
// Must be called without any cache's lock held.
func (b *Budget) fit(self *Cache) error {
	if b.used.Load() <= b.limit {
		return nil
	}
	b.reclaim.Lock()
	defer b.reclaim.Unlock()
	if b.used.Load() <= b.limit {
		return nil // another eviction made room meanwhile
	}
	for _, c := range b.largestFirst() {
		over := b.used.Load() - b.lowWater
		if over <= 0 {
			break
		}
		if err := c.shrink(over); err != nil && c == self {
			return err
		}
	}
	return nil
}

// largestFirst returns the live caches, those holding most first.
func (b *Budget) largestFirst() []*Cache {
	type sized struct {
		c     *Cache
		bytes int64 // read once: the caches change while they are sorted
	}
	b.mu.Lock()
	all := make([]sized, 0, len(b.caches))
	for a, p := range b.caches {
		if c := p.Value(); c != nil {
			all = append(all, sized{c, a.bytes.Load()})
		}
	}
	b.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].bytes > all[j].bytes })
	caches := make([]*Cache, len(all))
	for i, s := range all {
		caches[i] = s.c
	}
	return caches
}
