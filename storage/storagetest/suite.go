// Package storagetest is the conformance suite for storage.Storage
// backends: it checks the contract described in package storage, so that a
// backend passing it can replace LevelDB or memory under a processor or view.
//
// A backend's test calls Run with a function that returns a fresh Builder:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Builder {
//			return mybackend.Builder(t.TempDir())
//		}, storagetest.Capabilities{Persistent: true})
//	}
package storagetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// Capabilities says which parts of the contract a backend is checked for.
type Capabilities struct {
	// Persistent backends keep data and offset across Close: building the
	// same topic and partition again with the same Builder yields a storage
	// with the same content.
	Persistent bool

	// Discards marks backends that keep nothing to read back, like Null and
	// the file backend: writes must succeed, reads find nothing, GetOffset
	// returns its default and iterators are empty. The checks that need
	// stored data are skipped.
	Discards bool
}

// Run runs the suite as sub-tests of t. newBuilder is called once per
// sub-test, with that sub-test; every storage its Builder returns for a topic
// not built before must start empty. The suite opens each storage it builds
// and closes it at the end of the sub-test.
func Run(t *testing.T, newBuilder func(t *testing.T) storage.Builder, caps Capabilities) {
	t.Helper()
	var tests []struct {
		name string
		fn   func(*testing.T, *env)
	}
	add := func(name string, fn func(*testing.T, *env)) {
		tests = append(tests, struct {
			name string
			fn   func(*testing.T, *env)
		}{name, fn})
	}
	add("Lifecycle", testLifecycle)
	add("UseAfterClose", testUseAfterClose)
	add("UseAfterCloseWithoutBatchWriter", testUseAfterCloseFallback)
	add("ConcurrentReadersOneWriter", testConcurrentReadersOneWriter)
	if caps.Discards {
		add("Discards", testDiscards)
		add("AnyKeyDiscarded", testAnyKeyDiscarded)
	} else {
		add("GetSetDeleteHas", testGetSetDeleteHas)
		add("MissingKeys", testMissingKeys)
		add("NilAndEmptyValues", testNilAndEmptyValues)
		add("ReturnedCopies", testReturnedCopies)
		add("Offsets", testOffsets)
		add("IterationOrder", testIterationOrder)
		add("OffsetNotAKey", testOffsetNotAKey)
		add("AnyKey", testAnyKey)
		add("AnyKeyRanges", testAnyKeyRanges)
		add("AnyKeyBatch", testAnyKeyBatch)
		add("Ranges", testRanges)
		add("Seek", testSeek)
		add("SeekInRanges", testSeekInRanges)
		add("SnapshotIsolation", testSnapshotIsolation)
		add("Batch", testBatch)
		add("BatchWithoutBatchWriter", testBatchFallback)
		add("BatchAtomicity", testBatchAtomicity)
	}
	if caps.Persistent && !caps.Discards {
		add("Persistence", testPersistence)
		add("AnyKeyPersistence", testAnyKeyPersistence)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, &env{builder: newBuilder(t), caps: caps})
		})
	}
}

// env is what one sub-test works with.
type env struct {
	builder storage.Builder
	caps    Capabilities
	built   int
}

// open builds and opens the storage of topic, closing it when the test ends.
func (e *env) open(t *testing.T, topic string, partition int32) storage.Storage {
	t.Helper()
	st, err := e.builder(topic, partition)
	require.NoError(t, err, "build storage")
	require.NotNil(t, st, "builder returned no storage")
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Open(), "open storage")
	return st
}

// fresh builds and opens an empty storage on a topic of its own.
func (e *env) fresh(t *testing.T) storage.Storage {
	t.Helper()
	e.built++
	return e.open(t, fmt.Sprintf("storagetest-%d", e.built), 0)
}

// withoutBatchWriter hides a backend's BatchWriter so that storage.WriteBatch
// takes its fallback path.
type withoutBatchWriter struct {
	storage.Storage
}
