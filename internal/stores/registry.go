// Package stores keeps the local tables of a processor instance (its group
// table and joined tables, one table.Partition per topic and partition) open
// across consumer group sessions.
//
// A consumer group session lasts from one rebalance to the next; a store
// lasts as long as its partition stays on the instance. A partition that is
// assigned again, or changes role (recover-ahead or hot standby to active,
// active to standby), finds its store open, caught up to where the previous
// session left it, and with its row cache: it restores only the records
// written since. The owner decides which partitions stay (Retain) and closes
// everything when it stops (Close).
//
// The registry does not run anything: sessions drive the partitions
// (Recover, Follow) and one session ends before the next starts, so an
// Entry is used by one session at a time.
package stores

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/internal/tablecache"
)

// Entry is one table partition held by the registry.
type Entry struct {
	// Table restores and follows the partition and holds its store.
	Table *table.Partition
	// Rows is the row cache of the group table, kept while the partition
	// stays active from one session to the next; nil when no session
	// left a valid one. Only the session that runs the partition reads
	// or sets it.
	Rows *tablecache.Cache
	// after is closed once the table this entry replaces, given up by
	// Abandon, is closed; nil when it replaces none.
	after <-chan struct{}
}

// Wait returns once the entry's table may open its store: the table it
// replaces, given up by Abandon, is closed (a store directory can be open
// only once). It returns ctx's error if ctx ends first.
func (e *Entry) Wait(ctx context.Context) error {
	if e.after == nil {
		return nil
	}
	select {
	case <-e.after:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type key struct {
	topic     string
	partition int32
}

// Registry holds the open table partitions of one processor run.
type Registry struct {
	build func(topic string, partition int32) *table.Partition

	mu      sync.Mutex
	entries map[key]*Entry
	closed  bool
	// closing are the tables given up by Abandon, closed once their last
	// user ends; an Acquire of the same topic and partition waits for it.
	closing map[key]chan struct{}
	pending sync.WaitGroup
}

// New returns an empty registry; build creates a table partition the first
// time a topic and partition are acquired.
func New(build func(topic string, partition int32) *table.Partition) *Registry {
	return &Registry{build: build, entries: make(map[key]*Entry), closing: make(map[key]chan struct{})}
}

// Acquire returns the entry of topic and partition, creating it (not yet
// opened: Recover and Follow open the store) when the registry does not
// hold it. After Close it returns a new entry that the registry does not
// keep: its table is closed already, so using it fails with ErrClosed.
//
// When the table of topic and partition was given up by Abandon and is not
// closed yet, the new entry's Wait returns only once it is.
func (r *Registry) Acquire(topic string, partition int32) *Entry {
	k := key{topic, partition}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[k]; ok {
		return e
	}
	e := &Entry{Table: r.build(topic, partition), after: r.closing[k]}
	if r.closed {
		_ = e.Table.Close() // never opened: nothing to report
		return e
	}
	r.entries[k] = e
	return e
}

// Held reports the partitions of which the registry holds at least one
// table, sorted.
func (r *Registry) Held() []int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[int32]bool)
	var parts []int32
	for k := range r.entries {
		if !seen[k.partition] {
			seen[k.partition] = true
			parts = append(parts, k.partition)
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	return parts
}

// Retain closes and forgets the tables of every partition keep rejects. The
// session that ran them has stopped them cleanly (flushed, marked clean);
// closing a store is all that is left.
func (r *Registry) Retain(keep func(partition int32) bool) error {
	r.mu.Lock()
	var drop []*Entry
	for k, e := range r.entries {
		if !keep(k.partition) {
			drop = append(drop, e)
			delete(r.entries, k)
		}
	}
	r.mu.Unlock()
	return closeAll(drop)
}

// Abandon forgets the table of topic and partition, which a goroutine that
// outlived its partition's stop may still write, and closes it once done is
// closed. Its store keeps the dirty mark it had, so the next restore
// rebuilds it.
func (r *Registry) Abandon(topic string, partition int32, done <-chan struct{}) {
	k := key{topic, partition}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[k]
	if !ok {
		return
	}
	delete(r.entries, k)
	closed := make(chan struct{})
	r.closing[k] = closed
	r.pending.Add(1)
	go func() {
		defer r.pending.Done()
		<-done
		_ = closeAll([]*Entry{e}) // the store is dirty: nothing to lose
		r.mu.Lock()
		if r.closing[k] == closed {
			delete(r.closing, k)
		}
		r.mu.Unlock()
		close(closed)
	}()
}

// Abandoned returns how many tables given up by Abandon are not closed yet:
// their late users still run.
func (r *Registry) Abandoned() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.closing)
}

// Close closes every table and refuses to keep new ones. It waits for the
// tables given up by Abandon to be closed.
func (r *Registry) Close() error {
	defer r.pending.Wait()
	r.mu.Lock()
	r.closed = true
	all := make([]*Entry, 0, len(r.entries))
	for k, e := range r.entries {
		all = append(all, e)
		delete(r.entries, k)
	}
	r.mu.Unlock()
	return closeAll(all)
}

// closeAll closes the tables of entries in parallel: closing a LevelDB
// store compacts its memtable, which is worth overlapping.
func closeAll(entries []*Entry) error {
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e.Rows != nil {
				e.Rows.Release() // its bytes go back to the processor's budget
				e.Rows = nil
			}
			errs[i] = e.Table.Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
