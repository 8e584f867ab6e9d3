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
	db     *leveldb.DB
	closed atomic.Bool
	// upgrade is what New did to a store in an earlier layout.
	upgrade LayoutUpgrade

	// batchMu guards batch, a leveldb.Batch reused across WriteBatch calls
	// so that recovery does not allocate a new one per round.
	batchMu sync.Mutex
	batch   leveldb.Batch
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
	s := &levelDB{db: db}
	upgrade, err := s.prepareLayout()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("storage: new leveldb storage: %w", err), db.Close())
	}
	s.upgrade = upgrade
	return s, nil
}

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

// Close closes the database; calls after the first do nothing.
func (s *levelDB) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage: close leveldb: %w", err)
	}
	return nil
}

// Has reports whether key is stored.
func (s *levelDB) Has(key string) (bool, error) {
	if s.closed.Load() {
		return false, closedError("has")
	}
	ok, err := s.db.Has(keyspace.Encode(key), nil)
	if err != nil {
		return false, s.check("has", err)
	}
	return ok, nil
}

// Get returns a copy of the value of key; goleveldb already copies it.
func (s *levelDB) Get(key string) ([]byte, error) {
	if s.closed.Load() {
		return nil, closedError("get")
	}
	value, err := s.db.Get(keyspace.Encode(key), nil)
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
	if s.closed.Load() {
		return closedError("set")
	}
	if err := s.db.Put(keyspace.Encode(key), value, nil); err != nil {
		return s.check("set", err)
	}
	return nil
}

// Delete removes key.
func (s *levelDB) Delete(key string) error {
	if s.closed.Load() {
		return closedError("delete")
	}
	if err := s.db.Delete(keyspace.Encode(key), nil); err != nil {
		return s.check("delete", err)
	}
	return nil
}

// GetOffset parses the decimal offset stored under the offset metadata key.
func (s *levelDB) GetOffset(def int64) (int64, error) {
	if s.closed.Load() {
		return 0, closedError("get offset")
	}
	raw, err := s.db.Get(offsetKey, nil)
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
	if s.closed.Load() {
		return closedError("set offset")
	}
	if err := s.db.Put(offsetKey, formatOffset(offset), nil); err != nil {
		return s.check("set offset", err)
	}
	return nil
}

// MarkRecovered does nothing: offsets are never buffered, so there is
// nothing to flush.
func (s *levelDB) MarkRecovered() error {
	if s.closed.Load() {
		return closedError("mark recovered")
	}
	return nil
}

// WriteBatch applies b and its offset in one leveldb write.
func (s *levelDB) WriteBatch(b *Batch) error {
	if s.closed.Load() {
		return closedError("write batch")
	}
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	s.batch.Reset()
	// The callback cannot fail; Replay's error is always nil here.
	_ = b.Replay(func(key string, value []byte, deleted bool) error {
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
	if err := s.db.Write(&s.batch, nil); err != nil {
		return s.check("write batch", err)
	}
	return nil
}

// Iterator iterates over every key.
func (s *levelDB) Iterator() (Iterator, error) {
	return s.IteratorWithRange(nil, nil)
}

// IteratorWithRange iterates over a range resolved by the package rule.
func (s *levelDB) IteratorWithRange(start, limit []byte) (Iterator, error) {
	if s.closed.Load() {
		return nil, closedError("iterator")
	}
	r := resolveRange(start, limit)
	var slice *util.Range
	if r.lo != nil || r.hi != nil {
		// The encoding keeps byte order, so the encoded bounds enclose
		// exactly the encoded keys of the range, and metadata keys, which
		// the iterator skips.
		slice = &util.Range{Start: keyspace.EncodeBound(r.lo), Limit: keyspace.EncodeBound(r.hi)}
	}
	return &levelDBIterator{iter: s.db.NewIterator(slice, iterReadOptions), rng: r}, nil
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
