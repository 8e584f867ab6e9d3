package goka

import (
	"encoding/binary"
	"hash"
	"reflect"

	"github.com/seed-b2c684ed/goka/internal/engine"
)

// The guards below call user code (codecs, hashers) for the library and turn
// a panic into an error, so that a codec that panics on one odd value fails
// that message or that read instead of the whole process. Callbacks, update
// callbacks and rebalance callbacks recover where they are called.

// safeDecode decodes data with c; a panic becomes the error.
func safeDecode(c Codec, data []byte) (value interface{}, err error) {
	defer func() {
		if r := recover(); r != nil {
			value, err = nil, engine.PanicError("codec Decode", r)
		}
	}()
	return c.Decode(data)
}

// safeEncode encodes value with c; a panic becomes the error.
func safeEncode(c Codec, value interface{}) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, engine.PanicError("codec Encode", r)
		}
	}()
	return c.Encode(value)
}

// safeHashPartition is hashPartition with a panic of the hasher returned as
// the error.
func safeHashPartition(hasher func() hash.Hash32, key string, numPartitions int32) (partition int32, err error) {
	defer func() {
		if r := recover(); r != nil {
			partition, err = -1, engine.PanicError("hasher", r)
		}
	}()
	return hashPartition(hasher, key, numPartitions)
}

// guardHasher wraps a hasher handed to a producer, where sarama calls it in
// its own goroutines: a panic there would end the process. The guarded hash
// reports a panic of the user's hash as the error of Write, which sarama
// returns as the error of the message, and so fails only its send.
//
// The library's own hashers are trusted and passed as they are: the default
// path pays nothing, and a producer builder may still recognise them.
func guardHasher(hasher func() hash.Hash32) func() hash.Hash32 {
	if hasher == nil || isLibraryHasher(hasher) {
		return hasher
	}
	return func() hash.Hash32 { return &guardedHash{newHash: hasher} }
}

// guardedHash computes the sum in Write, under the recover, since Sum32
// cannot return an error. The user's hash is built at the first Write, so
// that a panicking constructor is caught as well.
type guardedHash struct {
	newHash func() hash.Hash32
	h       hash.Hash32 // nil until the first Write, and after a panic
	sum     uint32
}

func (g *guardedHash) Write(p []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			g.h = nil // its state is unknown: start afresh next time
			n, err = 0, engine.PanicError("hasher", r)
		}
	}()
	if g.h == nil {
		g.h = g.newHash()
	}
	n, err = g.h.Write(p)
	g.sum = g.h.Sum32()
	return n, err
}

// Reset resets the user's hash; one that panics is dropped, and the next
// Write starts with a fresh one.
func (g *guardedHash) Reset() {
	defer func() {
		if recover() != nil {
			g.h = nil
		}
	}()
	g.sum = 0
	if g.h != nil {
		g.h.Reset()
		g.sum = g.h.Sum32()
	}
}

// Sum32 asks the user's hash, so that a producer builder of the user's sees
// the sums of its own hash; if it panics, the sum Write computed stands in:
// Write has failed already in that case.
func (g *guardedHash) Sum32() (sum uint32) {
	defer func() {
		if recover() != nil {
			g.h = nil
			sum = g.sum
		}
	}()
	if g.h == nil {
		g.h = g.newHash()
	}
	return g.h.Sum32()
}

func (g *guardedHash) Sum(b []byte) []byte { return binary.BigEndian.AppendUint32(b, g.Sum32()) }

func (g *guardedHash) Size() int { return 4 }

func (g *guardedHash) BlockSize() int { return 1 }

// isLibraryHasher reports whether hasher is one the library provides, which
// do not panic.
func isLibraryHasher(hasher func() hash.Hash32) bool {
	ptr := reflect.ValueOf(hasher).Pointer()
	return ptr == reflect.ValueOf(DefaultHasher()).Pointer() ||
		ptr == reflect.ValueOf(Murmur2Hasher()).Pointer()
}
