package storage

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// The options of a bulk load. goleveldb compacts level 0 once it holds 4
// tables, slows, then stops, the writes at 8 and 12 until compaction has
// caught up, and compresses every table with snappy. That suits a store
// read while it is written. During a restore the compactions compete with
// the restore for the cores and end up pacing it, and no compaction is a
// cheap move: every table of a store overlaps every other, since each batch
// writes the offset key, which sorts first.
// Measured with goleveldb alone, 8 stores in parallel on 2 cores, 10M
// records of 100 bytes in batches of 4096 (keys in random order): 367k/s
// with the defaults, 574k/s with these. Once the store has its own options
// back, goleveldb compacts what the restore left in level 0 (and compresses
// it) in the background.
//
// 64 tables are 256 MiB with the default 4 MiB write buffer, more than a
// partition of most tables: a larger restore compacts on the way, and is
// stopped only at 96 tables.
const (
	bulkL0Trigger  = 64
	bulkL0Slowdown = 80
	bulkL0Pause    = 96
)

// bulkThresholdMemtables is how many memtables' worth of keys and values a
// restore writes before its store switches to the bulk options: as many as
// level 0 holds before goleveldb's first compaction, so a restore that never
// compacts never pays for the switch.
const bulkThresholdMemtables = 4

// bulkThresholdOverride, when positive, replaces the threshold; a variable
// for the tests.
var bulkThresholdOverride int64

// bulkLoad switches a store a builder opened to options suited to a restore
// (bulkL0Trigger and its kin, no compression) once the restore has written
// enough for compactions to start, and back to the builder's options at
// MarkRecovered.
// goleveldb fixes its options when it opens a database, so each switch
// closes and reopens the database, which replays its journal (one memtable
// at most): the reason small restores do not switch. A switch waits until
// no iterator is open, since goleveldb must not close a database under
// one; it is retried at the next write.
type bulkLoad struct {
	dir    string // for errors
	open   func(*opt.Options) (*leveldb.DB, error)
	normal *opt.Options // the builder's; nil for goleveldb's defaults
	bulk   *opt.Options

	// done is set once the store is back to its own options for good:
	// writes then skip mu.
	done atomic.Bool

	mu        sync.Mutex
	threshold int64 // bytes of keys and values before switching
	written   int64 // bytes of keys and values written so far
	active    bool  // open with the bulk options
	finished  bool  // MarkRecovered was called: never switch to bulk again
	reopens   int   // switches made, for the tests
}

// newBulkLoad returns the switch of the database at dir, which open opens
// with the given options.
func newBulkLoad(dir string, open func(*opt.Options) (*leveldb.DB, error), normal *opt.Options) *bulkLoad {
	bulk := &opt.Options{}
	if normal != nil {
		*bulk = *normal
	}
	bulk.CompactionL0Trigger = max(bulk.CompactionL0Trigger, bulkL0Trigger)
	bulk.WriteL0SlowdownTrigger = max(bulk.WriteL0SlowdownTrigger, bulkL0Slowdown)
	bulk.WriteL0PauseTrigger = max(bulk.WriteL0PauseTrigger, bulkL0Pause)
	bulk.Compression = opt.NoCompression
	threshold := int64(bulkThresholdMemtables) * int64(normal.GetWriteBuffer())
	if bulkThresholdOverride > 0 {
		threshold = bulkThresholdOverride
	}
	return &bulkLoad{dir: dir, open: open, normal: normal, bulk: bulk, threshold: threshold}
}

// afterWrite counts n bytes of keys and values written to s, and makes the
// switch they call for, or one an open iterator held back.
func (s *levelDB) afterWrite(n int) error {
	b := s.bulk
	if b == nil || b.done.Load() {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.finished && b.active:
		return b.reopen(s, false)
	case !b.finished && !b.active:
		b.written += int64(n)
		if b.written >= b.threshold {
			return b.reopen(s, true)
		}
	}
	return nil
}

// recovered is MarkRecovered: back to the builder's options, now or, under
// an open iterator, at the next write.
func (b *bulkLoad) recovered(s *levelDB) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished = true
	if b.active {
		if err := b.reopen(s, false); err != nil {
			return err
		}
	}
	if !b.active {
		b.done.Store(true)
	}
	return nil
}

// reopen reopens s's database with the bulk options (toBulk) or the
// builder's, unless an iterator is open. A failed reopen leaves the storage
// broken: every later operation returns the error.
func (b *bulkLoad) reopen(s *levelDB, toBulk bool) error {
	if s.iterators.Load() > 0 {
		return nil // checked again below; this spares the readers a lock
	}
	s.switchMu.Lock()
	defer s.switchMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || s.db == nil || s.iterators.Load() > 0 {
		return nil
	}
	o, what := b.normal, "the store's own options"
	if toBulk {
		o, what = b.bulk, "bulk-load options"
	}
	err := s.db.Close()
	s.db = nil
	if err == nil {
		s.db, err = b.open(o)
	}
	if err != nil {
		s.broken = fmt.Errorf("reopen leveldb at %s with %s: %w", b.dir, what, err)
		return fmt.Errorf("storage: %w", s.broken)
	}
	b.active = toBulk
	b.reopens++
	if !toBulk && b.finished {
		b.done.Store(true)
	}
	return nil
}
