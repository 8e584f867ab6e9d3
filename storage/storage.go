package storage

import (
	"errors"
	"fmt"
)

// ErrClosed is returned, wrapped, by every operation on a storage (or an
// iterator taken from it) after Close, so that late callers during a shutdown
// get an error they can recognise instead of a panic.
var ErrClosed = errors.New("storage: closed")

// Storage is the local copy of one partition of a table. Implementations
// must be safe for many concurrent readers and one writer; the package
// documentation spells out the contract every backend follows.
type Storage interface {
	// Open prepares the storage for use. Storages returned by constructors
	// and builders are already usable, so Open may be a no-op; it exists for
	// backends that defer expensive work until the partition is assigned.
	Open() error

	// Close releases the storage's resources. It is idempotent; every
	// later operation fails with ErrClosed. Iterators must be released
	// before Close.
	Close() error

	// Has reports whether key has a value, an empty value included.
	Has(key string) (bool, error)

	// Get returns a copy of the value of key, or nil and no error when key
	// is missing. A key set to an empty value yields a non-nil empty slice.
	Get(key string) ([]byte, error)

	// Set stores a copy of value under key. A nil value stores an empty
	// value, it does not delete the key.
	Set(key string, value []byte) error

	// Delete removes key. Deleting a missing key is not an error.
	Delete(key string) error

	// GetOffset returns the offset stored with SetOffset, or def when none
	// was ever stored.
	GetOffset(def int64) (int64, error)

	// SetOffset stores the offset of the last table record applied to the
	// storage. Persistent backends make it durable before returning.
	SetOffset(offset int64) error

	// MarkRecovered tells the storage that recovery of the partition has
	// caught up with the table topic. It is idempotent and may be called at
	// any time; backends use it to switch from bulk loading to normal
	// operation.
	MarkRecovered() error

	// Iterator returns an iterator over every key in ascending byte order,
	// on a snapshot taken now.
	Iterator() (Iterator, error)

	// IteratorWithRange is Iterator restricted to [start, limit) when limit
	// is not empty, or to the keys that have start as a prefix when limit is
	// empty.
	IteratorWithRange(start, limit []byte) (Iterator, error)
}

// Iterator walks the keys of a storage snapshot in ascending byte order. It
// starts before the first key. An iterator is used by one goroutine at a time
// and must be released.
type Iterator interface {
	// Next moves to the next key and reports whether there is one.
	Next() bool

	// Err returns the error that ended the iteration early, if any.
	Err() error

	// Key returns the current key, or nil when the iterator is not on a
	// key. The slice is only valid until the iterator moves and must not be
	// modified.
	Key() []byte

	// Value returns a copy of the current value, or nil when the iterator
	// is not on a key.
	Value() ([]byte, error)

	// Release frees the iterator's resources. It is idempotent; a released
	// iterator behaves as exhausted.
	Release()

	// Seek moves to the first key >= key within the iterator's range and
	// reports whether there is one. Key and Value are valid right after a
	// successful Seek, and Next continues after that key. Seek may move
	// backwards.
	Seek(key []byte) bool
}

// Builder creates the storage of one partition of a topic. Processors and
// views call it once per partition they keep a table for.
type Builder func(topic string, partition int32) (Storage, error)

// closedError reports an operation attempted after Close.
func closedError(op string) error {
	return fmt.Errorf("%s: %w", op, ErrClosed)
}
