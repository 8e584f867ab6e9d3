package redis

import "sort"

// iterator walks a snapshot: entries hold exactly the keys of its range, in
// order, so moving needs no requests and no bounds other than the slice's.
// pos is -1 before the first key and len(entries) once exhausted.
type iterator struct {
	entries  []entry
	pos      int
	key      []byte // the current key as bytes, converted once per position
	released bool
}

func (i *iterator) valid() bool {
	return !i.released && i.pos >= 0 && i.pos < len(i.entries)
}

// Next moves to the next key.
func (i *iterator) Next() bool {
	if i.released {
		return false
	}
	if i.pos < len(i.entries) {
		i.pos++
	}
	i.key = nil
	return i.pos < len(i.entries)
}

// Err is always nil: every request was made when the iterator was created.
func (i *iterator) Err() error {
	return nil
}

// Key returns the current key.
func (i *iterator) Key() []byte {
	if !i.valid() {
		return nil
	}
	if i.key == nil {
		i.key = []byte(i.entries[i.pos].key)
	}
	return i.key
}

// Value returns a copy of the current value.
func (i *iterator) Value() ([]byte, error) {
	if !i.valid() {
		return nil, nil
	}
	return []byte(i.entries[i.pos].value), nil
}

// Release drops the snapshot so that it can be collected.
func (i *iterator) Release() {
	i.released = true
	i.entries = nil
	i.key = nil
}

// Seek moves to the first key >= key. A key before the range finds the
// range's first key, as the snapshot starts there.
func (i *iterator) Seek(key []byte) bool {
	if i.released {
		return false
	}
	target := string(key)
	i.pos = sort.Search(len(i.entries), func(n int) bool {
		return i.entries[n].key >= target
	})
	i.key = nil
	return i.pos < len(i.entries)
}
