package storage

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/iterator"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/seed-b2c684ed/goka/storage/internal/keyspace"
)

// levelDB is the default, persistent backend. Table keys are stored
// through package keyspace, and the offset under a metadata key no table key
// maps to, in the same database, so that a batch can carry both.
type levelDB struct {
	// mu guards db, which a switch of options replaces (see bulkLoad):
	// every operation holds the read lock while it uses db, the switch the
	// write lock. db is nil once a reopen failed; broken says why.
	mu sync.RWMutex
	// switchMu is held by a switch and by Close, which reads db under it
	// alone: Close must not wait for operations in progress, since
	// goleveldb ends them (a write held back until compaction catches up,
	// say) when the database closes.
	switchMu sync.Mutex
	db       *leveldb.DB
	broken   error
	closed   atomic.Bool
	// iterators counts the iterators not yet released, under which the
	// database must not be closed for a switch.
	iterators atomic.Int64
	// upgrade is what New did to a store in an earlier layout.
	upgrade LayoutUpgrade

	// batchMu guards batch, a leveldb.Batch reused across WriteBatch calls
	// so that recovery does not allocate a new one per round.
	batchMu sync.Mutex
	batch   leveldb.Batch

	// bulk switches the options while restoring; nil for a database handed
	// to New, which cannot be reopened.
	bulk *bulkLoad
}

// iterReadOptions keeps full scans from evicting the hot blocks that point
// reads rely on.
var iterReadOptions = &opt.ReadOptions{DontFillCache: true}

// New returns a storage on an open LevelDB database. The storage owns db
// from then on: Close closes it, and so does New when it fails. A database
// written in the earlier layout, with the offset under the data key
// "__offset" (by goka, or by earlier versions), is migrated or emptied for a
// rebuild first; LayoutUpgrade on the result says which.
func New(db *leveldb.DB) (Storage, error) {
	if db == nil {
		return nil, errors.New("storage: new leveldb storage: nil database")
	}
	return newLevelDB(db)
}

// newLevelDB is New with the concrete type, for the builders.
func newLevelDB(db *leveldb.DB) (*levelDB, error) {
	s := &levelDB{db: db}
	upgrade, err := s.prepareLayout()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("storage: new leveldb storage: %w", err), db.Close())
	}
	s.upgrade = upgrade
	return s, nil
}

// acquire returns the open database with the read lock held, or the error
// of a closed or broken storage without it. release unlocks.
func (s *levelDB) acquire(op string) (*leveldb.DB, error) {
	if s.closed.Load() {
		return nil, closedError(op)
	}
	s.mu.RLock()
	switch {
	case s.closed.Load():
		s.mu.RUnlock()
		return nil, closedError(op)
	case s.db == nil:
		s.mu.RUnlock()
		return nil, fmt.Errorf("storage: %s: %w", op, s.broken)
	}
	return s.db, nil
}

func (s *levelDB) release() { s.mu.RUnlock() }

// LayoutUpgrade reports what New did to a store in an earlier layout.
func (s *levelDB) LayoutUpgrade() LayoutUpgrade {
	return s.upgrade
}

// check turns errors of a closed database into ErrClosed, which a Close
// racing with the call can cause even after the closed flag was checked.
func (s *levelDB) check(op string, err error) error {
	if s.closed.Load() || errors.Is(err, leveldb.ErrClosed) {
		return closedError(op)
	}
	return fmt.Errorf("storage: %s: %w", op, err)
}

// Open does nothing: the database was opened before New.
func (s *levelDB) Open() error {
	if s.closed.Load() {
		return closedError("open")
	}
	return nil
}

// Close closes the database; calls after the first do nothing, and the
// operations that start after it fail with ErrClosed. It waits for a switch
// of options and for the operations in progress: goleveldb's Close races
// with a write big enough to go through its internal transaction (the race
// detector saw both touch the open transaction), so a write that waits for
// compaction to catch up delays the close by that wait.
func (s *levelDB) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.switchMu.Lock()
	defer s.switchMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage: close leveldb: %w", err)
	}
	return nil
}

// Has reports whether key is stored.
func (s *levelDB) Has(key string) (bool, error) {
	db, err := s.acquire("has")
	if err != nil {
		return false, err
	}
	defer s.release()
	ok, err := db.Has(keyspace.Encode(key), nil)
	if err != nil {
		return false, s.check("has", err)
	}
	return ok, nil
}

// Get returns a copy of the value of key; goleveldb already copies it.
func (s *levelDB) Get(key string) ([]byte, error) {
	db, err := s.acquire("get")
	if err != nil {
		return nil, err
	}
	defer s.release()
	value, err := db.Get(keyspace.Encode(key), nil)
	switch {
	case errors.Is(err, leveldb.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, s.check("get", err)
	case value == nil:
		return []byte{}, nil
	}
	return value, nil
}

// Set stores value under key.
func (s *levelDB) Set(key string, value []byte) error {
	db, err := s.acquire("set")
	if err != nil {
		return err
	}
	err = db.Put(keyspace.Encode(key), value, nil)
	s.release()
	if err != nil {
		return s.check("set", err)
	}
	return s.afterWrite(0)
}

// Delete removes key.
func (s *levelDB) Delete(key string) error {
	db, err := s.acquire("delete")
	if err != nil {
		return err
	}
	err = db.Delete(keyspace.Encode(key), nil)
	s.release()
	if err != nil {
		return s.check("delete", err)
	}
	return s.afterWrite(0)
}

// GetOffset parses the decimal offset stored under the offset metadata key.
func (s *levelDB) GetOffset(def int64) (int64, error) {
	db, err := s.acquire("get offset")
	if err != nil {
		return 0, err
	}
	raw, err := db.Get(offsetKey, nil)
	s.release()
	if errors.Is(err, leveldb.ErrNotFound) {
		return def, nil
	}
	if err != nil {
		return 0, s.check("get offset", err)
	}
	offset, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("storage: get offset: malformed stored offset %q: %w", raw, err)
	}
	return offset, nil
}

// SetOffset writes the offset through at once. goka buffers it in memory
// during recovery instead, which lets a crash lose up to 30 s of progress;
// recovery here writes offsets inside batches, so there is little to save.
func (s *levelDB) SetOffset(offset int64) error {
	db, err := s.acquire("set offset")
	if err != nil {
		return err
	}
	err = db.Put(offsetKey, formatOffset(offset), nil)
	s.release()
	if err != nil {
		return s.check("set offset", err)
	}
	return s.afterWrite(0)
}

// MarkRecovered ends a bulk load: a store a builder opened goes back to its
// own options (see bulkLoad). Offsets are never buffered, so there is
// nothing to flush.
func (s *levelDB) MarkRecovered() error {
	if s.closed.Load() {
		return closedError("mark recovered")
	}
	if s.bulk == nil {
		return nil
	}
	return s.bulk.recovered(s)
}

// WriteBatch applies b and its offset in one leveldb write.
func (s *levelDB) WriteBatch(b *Batch) error {
	db, err := s.acquire("write batch")
	if err != nil {
		return err
	}
	s.batchMu.Lock()
	s.batch.Reset()
	written := 0
	// The callback cannot fail; Replay's error is always nil here.
	_ = b.Replay(func(key string, value []byte, deleted bool) error {
		written += len(key) + len(value)
		if deleted {
			s.batch.Delete(keyspace.Encode(key))
		} else {
			s.batch.Put(keyspace.Encode(key), value)
		}
		return nil
	})
	if offset, ok := b.Offset(); ok {
		s.batch.Put(offsetKey, formatOffset(offset))
	}
	err = db.Write(&s.batch, nil)
	s.batchMu.Unlock()
	s.release()
	if err != nil {
		return s.check("write batch", err)
	}
	return s.afterWrite(written)
}

// Iterator iterates over every key.
func (s *levelDB) Iterator() (Iterator, error) {
	return s.IteratorWithRange(nil, nil)
}

// IteratorWithRange iterates over a range resolved by the package rule.
func (s *levelDB) IteratorWithRange(start, limit []byte) (Iterator, error) {
	db, err := s.acquire("iterator")
	if err != nil {
		return nil, err
	}
	defer s.release()
	r := resolveRange(start, limit)
	var slice *util.Range
	if r.lo != nil || r.hi != nil {
		// The encoding keeps byte order, so the encoded bounds enclose
		// exactly the encoded keys of the range, and metadata keys, which
		// the iterator skips.
		slice = &util.Range{Start: keyspace.EncodeBound(r.lo), Limit: keyspace.EncodeBound(r.hi)}
	}
	// Counted under the read lock, so that a switch either sees it or
	// happens before it.
	s.iterators.Add(1)
	return &levelDBIterator{iter: db.NewIterator(slice, iterReadOptions), rng: r, open: &s.iterators}, nil
}

// formatOffset renders an offset as decimal text, as goka did, so that a
// store can be inspected with any LevelDB tool.
func formatOffset(offset int64) []byte {
	return strconv.AppendInt(nil, offset, 10)
}

// levelDBIterator adapts a goleveldb iterator, which already works on a
// snapshot: it skips metadata keys and decodes table keys.
type levelDBIterator struct {
	iter     iterator.Iterator
	rng      keyRange
	released bool
	open     *atomic.Int64 // the storage's count of open iterators
}

// Next moves to the next data key.
func (i *levelDBIterator) Next() bool {
	if i.released {
		return false
	}
	for i.iter.Next() {
		if !keyspace.IsMeta(i.iter.Key()) {
			return true
		}
	}
	return false
}

// Err returns goleveldb's iteration error.
func (i *levelDBIterator) Err() error {
	if i.released {
		return nil
	}
	if err := i.iter.Error(); err != nil {
		return fmt.Errorf("storage: iterate leveldb: %w", err)
	}
	return nil
}

// Key returns the table key within goleveldb's key buffer, valid until the
// next move.
func (i *levelDBIterator) Key() []byte {
	if i.released {
		return nil
	}
	return keyspace.Decode(i.iter.Key())
}

// Value returns a copy of the current value, because goleveldb reuses its
// buffer on the next move.
func (i *levelDBIterator) Value() ([]byte, error) {
	if i.released || i.iter.Key() == nil {
		return nil, nil
	}
	value := i.iter.Value()
	out := make([]byte, len(value))
	copy(out, value)
	return out, nil
}

// Release frees the snapshot.
func (i *levelDBIterator) Release() {
	if i.released {
		return
	}
	i.released = true
	i.iter.Release()
	i.open.Add(-1)
}

// Seek moves to the first data key >= key within the range.
func (i *levelDBIterator) Seek(key []byte) bool {
	if i.released {
		return false
	}
	if !i.iter.Seek(keyspace.EncodeBound(i.rng.clampSeek(key))) {
		return false
	}
	if keyspace.IsMeta(i.iter.Key()) {
		return i.Next()
	}
	return true
}
