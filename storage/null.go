package storage

import "sync/atomic"

// Null is a storage that keeps nothing: writes succeed and are dropped, reads
// find nothing and GetOffset always returns the default. It suits stateless
// debugging runs where a table must exist but its content does not matter.
// The zero value is ready to use.
type Null struct {
	closed    atomic.Bool
	recovered atomic.Bool
}

// NewNull returns a Null storage.
func NewNull() Storage {
	return new(Null)
}

// Open does nothing.
func (n *Null) Open() error {
	return n.check("open")
}

// Close marks the storage closed; later calls fail with ErrClosed.
func (n *Null) Close() error {
	n.closed.Store(true)
	return nil
}

// Has reports false: nothing is ever stored.
func (n *Null) Has(string) (bool, error) {
	return false, n.check("has")
}

// Get returns nil: nothing is ever stored.
func (n *Null) Get(string) ([]byte, error) {
	return nil, n.check("get")
}

// Set drops the value.
func (n *Null) Set(string, []byte) error {
	return n.check("set")
}

// Delete does nothing.
func (n *Null) Delete(string) error {
	return n.check("delete")
}

// GetOffset returns def: no offset is ever stored.
func (n *Null) GetOffset(def int64) (int64, error) {
	if err := n.check("get offset"); err != nil {
		return 0, err
	}
	return def, nil
}

// SetOffset drops the offset.
func (n *Null) SetOffset(int64) error {
	return n.check("set offset")
}

// MarkRecovered notes that recovery finished, which Recovered reports.
func (n *Null) MarkRecovered() error {
	if err := n.check("mark recovered"); err != nil {
		return err
	}
	n.recovered.Store(true)
	return nil
}

// Recovered reports whether MarkRecovered was called, as goka's Null does.
func (n *Null) Recovered() bool {
	return n.recovered.Load()
}

// Iterator returns an empty iterator.
func (n *Null) Iterator() (Iterator, error) {
	if err := n.check("iterator"); err != nil {
		return nil, err
	}
	return new(NullIter), nil
}

// IteratorWithRange returns an empty iterator.
func (n *Null) IteratorWithRange(_, _ []byte) (Iterator, error) {
	return n.Iterator()
}

func (n *Null) check(op string) error {
	if n.closed.Load() {
		return closedError(op)
	}
	return nil
}

// NullIter is an iterator over nothing, returned by Null and by backends
// that cannot be read back.
type NullIter struct{}

// Next reports false: there are no keys.
func (*NullIter) Next() bool { return false }

// Err returns nil.
func (*NullIter) Err() error { return nil }

// Key returns nil.
func (*NullIter) Key() []byte { return nil }

// Value returns nil.
func (*NullIter) Value() ([]byte, error) { return nil, nil }

// Release does nothing.
func (*NullIter) Release() {}

// Seek reports false: there are no keys.
func (*NullIter) Seek([]byte) bool { return false }
