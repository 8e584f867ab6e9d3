package goka

import "github.com/seed-b2c684ed/goka/storage"

// Iterator walks the keys of a table in ascending order, decoding values
// with the table's codec.
type Iterator interface {
	// Next moves to the next key and reports whether there is one.
	Next() bool
	// Err returns the error that stopped the iteration, if any.
	Err() error
	// Key returns the current key.
	Key() string
	// Value decodes and returns the current value; nil data gives nil.
	Value() (interface{}, error)
	// Release frees the iterator; it must be called.
	Release()
	// Seek moves to the first key at or after key and reports whether there
	// is one. Key and Value are valid right after it; Next moves past it.
	// This is what goka documents, but goka's view iterator needed a Next
	// after Seek to reach that key: code written against that behaviour
	// (Seek, then a loop on Next) skips the sought key here.
	Seek(key string) bool
}

type iterator struct {
	iter  storage.Iterator
	codec Codec
}

func (i *iterator) Next() bool { return i.iter.Next() }
func (i *iterator) Err() error { return i.iter.Err() }
func (i *iterator) Key() string {
	return string(i.iter.Key())
}
func (i *iterator) Value() (interface{}, error) {
	data, err := i.iter.Value()
	if err != nil || data == nil {
		return nil, err
	}
	return safeDecode(i.codec, data)
}
func (i *iterator) Release()             { i.iter.Release() }
func (i *iterator) Seek(key string) bool { return i.iter.Seek([]byte(key)) }
