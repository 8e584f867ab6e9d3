package storage

import (
	"slices"
	"sort"
	"sync"
)

// memory keeps a partition in a map. Iterators need the keys in order; the
// sorted view is built lazily, only when an iterator is requested after a
// write, and is then shared by every iterator until the next write. Each
// built view is immutable, which is what makes it a snapshot.
type memory struct {
	mu        sync.RWMutex
	closed    bool
	data      map[string][]byte // values are owned copies, never mutated
	offset    int64
	hasOffset bool

	// index holds the sorted keys of the last built view. New keys since
	// then are in added; keys deleted since then are still in index and are
	// dropped on the next build.
	index []string
	added []string
	// rebuild is set when added grew too large to be worth merging and the
	// next build sorts every key from scratch.
	rebuild bool
	// view is the current snapshot, nil after any write.
	view *memoryView
}

// memoryView is an immutable sorted copy of the key set with its values.
type memoryView struct {
	keys   []string
	values [][]byte
}

// NewMemory returns an empty storage held in memory, for tests, the tester
// and tables that need no persistence.
func NewMemory() Storage {
	return &memory{data: make(map[string][]byte)}
}

// Open does nothing: the map exists from the start.
func (m *memory) Open() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return closedError("open")
	}
	return nil
}

// Close drops the data.
func (m *memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.data, m.index, m.added, m.view = nil, nil, nil, nil
	return nil
}

// Has reports whether key is stored.
func (m *memory) Has(key string) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return false, closedError("has")
	}
	_, ok := m.data[key]
	return ok, nil
}

// Get returns a copy of the value of key.
func (m *memory) Get(key string) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, closedError("get")
	}
	value, ok := m.data[key]
	if !ok {
		return nil, nil
	}
	return append([]byte{}, value...), nil
}

// Set stores a copy of value under key.
func (m *memory) Set(key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return closedError("set")
	}
	m.setLocked(key, value)
	return nil
}

// Delete removes key.
func (m *memory) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return closedError("delete")
	}
	m.deleteLocked(key)
	return nil
}

// GetOffset returns the stored offset or def.
func (m *memory) GetOffset(def int64) (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, closedError("get offset")
	}
	if !m.hasOffset {
		return def, nil
	}
	return m.offset, nil
}

// SetOffset stores the offset beside the data, out of reach of any key.
func (m *memory) SetOffset(offset int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return closedError("set offset")
	}
	m.offset, m.hasOffset = offset, true
	return nil
}

// MarkRecovered does nothing; memory has no recovery mode.
func (m *memory) MarkRecovered() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return closedError("mark recovered")
	}
	return nil
}

// WriteBatch applies b under one lock, so readers see all of it or none.
func (m *memory) WriteBatch(b *Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return closedError("write batch")
	}
	// The callback cannot fail; Replay's error is always nil here.
	_ = b.Replay(func(key string, value []byte, deleted bool) error {
		if deleted {
			m.deleteLocked(key)
		} else {
			m.setLocked(key, value)
		}
		return nil
	})
	if offset, ok := b.Offset(); ok {
		m.offset, m.hasOffset = offset, true
	}
	return nil
}

// maxAddedSlack bounds how many keys added may hold beyond the live key
// count before merging stops paying off (repeated set and delete of the same
// keys would otherwise grow it without limit).
const maxAddedSlack = 4096

func (m *memory) setLocked(key string, value []byte) {
	if _, exists := m.data[key]; !exists && !m.rebuild {
		m.added = append(m.added, key)
		if len(m.added) > len(m.data)+maxAddedSlack {
			m.rebuild, m.index, m.added = true, nil, nil
		}
	}
	m.data[key] = append([]byte{}, value...)
	m.view = nil
}

func (m *memory) deleteLocked(key string) {
	if _, exists := m.data[key]; !exists {
		return
	}
	delete(m.data, key)
	m.view = nil
}

// currentView returns the snapshot of the current state, building it if a
// write happened since the last one.
func (m *memory) currentView() (*memoryView, error) {
	m.mu.RLock()
	view, closed := m.view, m.closed
	m.mu.RUnlock()
	if closed {
		return nil, closedError("iterator")
	}
	if view != nil {
		return view, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, closedError("iterator")
	}
	if m.view == nil {
		m.view = m.buildViewLocked()
	}
	return m.view, nil
}

// buildViewLocked merges the previous sorted keys with the keys added since,
// dropping duplicates and deleted keys.
func (m *memory) buildViewLocked() *memoryView {
	if m.rebuild {
		m.index = make([]string, 0, len(m.data))
		for key := range m.data {
			m.index = append(m.index, key)
		}
		slices.Sort(m.index)
		m.added = m.added[:0]
		m.rebuild = false
	}
	// index needs no sorting: it is the key list of the previous view, which
	// also makes it shared and read-only.
	slices.Sort(m.added)

	view := &memoryView{
		keys:   make([]string, 0, len(m.data)),
		values: make([][]byte, 0, len(m.data)),
	}
	keep := func(key string) {
		if n := len(view.keys); n > 0 && view.keys[n-1] == key {
			return
		}
		value, ok := m.data[key]
		if !ok {
			return
		}
		view.keys = append(view.keys, key)
		view.values = append(view.values, value)
	}
	old, added := m.index, m.added
	for len(old) > 0 || len(added) > 0 {
		if len(added) == 0 || (len(old) > 0 && old[0] <= added[0]) {
			keep(old[0])
			old = old[1:]
		} else {
			keep(added[0])
			added = added[1:]
		}
	}
	m.index = view.keys
	m.added = m.added[:0]
	return view
}

// Iterator iterates over every key.
func (m *memory) Iterator() (Iterator, error) {
	return m.IteratorWithRange(nil, nil)
}

// IteratorWithRange iterates over a range of the current snapshot.
func (m *memory) IteratorWithRange(start, limit []byte) (Iterator, error) {
	view, err := m.currentView()
	if err != nil {
		return nil, err
	}
	r := resolveRange(start, limit)
	lo := view.search(r.lo)
	hi := len(view.keys)
	if r.hi != nil {
		hi = max(lo, view.search(r.hi))
	}
	return &memoryIterator{view: view, lo: lo, hi: hi, pos: lo - 1}, nil
}

// search returns the index of the first key >= key.
func (v *memoryView) search(key []byte) int {
	target := string(key)
	return sort.Search(len(v.keys), func(i int) bool {
		return v.keys[i] >= target
	})
}

// memoryIterator walks the positions [lo, hi) of a view; pos is lo-1 before
// the first Next and hi once exhausted.
type memoryIterator struct {
	view   *memoryView
	lo, hi int
	pos    int
	key    []byte // the current key as bytes, converted once per position
}

func (i *memoryIterator) valid() bool {
	return i.view != nil && i.pos >= i.lo && i.pos < i.hi
}

// Next moves to the next key.
func (i *memoryIterator) Next() bool {
	if i.view == nil {
		return false
	}
	if i.pos < i.hi {
		i.pos++
	}
	i.key = nil
	return i.pos < i.hi
}

// Err is always nil: a view cannot fail.
func (i *memoryIterator) Err() error {
	return nil
}

// Key returns the current key.
func (i *memoryIterator) Key() []byte {
	if !i.valid() {
		return nil
	}
	if i.key == nil {
		i.key = []byte(i.view.keys[i.pos])
	}
	return i.key
}

// Value returns a copy of the current value.
func (i *memoryIterator) Value() ([]byte, error) {
	if !i.valid() {
		return nil, nil
	}
	return append([]byte{}, i.view.values[i.pos]...), nil
}

// Release drops the view so that it can be collected.
func (i *memoryIterator) Release() {
	i.view = nil
	i.key = nil
}

// Seek moves to the first key >= key in the range.
func (i *memoryIterator) Seek(key []byte) bool {
	if i.view == nil {
		return false
	}
	i.pos = min(max(i.view.search(key), i.lo), i.hi)
	i.key = nil
	return i.pos < i.hi
}
