package storage_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

type replayed struct {
	key     string
	value   string
	deleted bool
}

func replay(t *testing.T, b *storage.Batch) []replayed {
	t.Helper()
	var out []replayed
	require.NoError(t, b.Replay(func(key string, value []byte, deleted bool) error {
		out = append(out, replayed{key, string(value), deleted})
		if !deleted {
			assert.NotNil(t, value, "a set of %q always has a non-nil value", key)
		} else {
			assert.Nil(t, value, "a delete of %q has no value", key)
		}
		return nil
	}))
	return out
}

func TestBatchRecordsOpsInOrder(t *testing.T) {
	var b storage.Batch
	assert.Equal(t, 0, b.Len())
	_, ok := b.Offset()
	assert.False(t, ok, "no offset in a new batch")

	value := []byte("one")
	b.Set("a", value)
	value[0] = 'X'
	b.Delete("b")
	b.Set("c", nil)
	b.SetOffset(12)
	assert.Equal(t, 3, b.Len(), "the offset is not an op")
	off, ok := b.Offset()
	assert.True(t, ok)
	assert.Equal(t, int64(12), off)

	assert.Equal(t, []replayed{
		{"a", "one", false},
		{"b", "", true},
		{"c", "", false},
	}, replay(t, &b))

	b.Reset()
	assert.Equal(t, 0, b.Len())
	_, ok = b.Offset()
	assert.False(t, ok, "Reset drops the offset")
	assert.Empty(t, replay(t, &b))
}

func TestBatchReplayStopsAtError(t *testing.T) {
	var b storage.Batch
	b.Set("a", nil)
	b.Set("b", nil)
	stop := errors.New("stop")
	calls := 0
	err := b.Replay(func(string, []byte, bool) error {
		calls++
		return stop
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, calls)
}

func TestBatchReuseDoesNotAllocate(t *testing.T) {
	var b storage.Batch
	value := []byte("a value of some length")
	fill := func() {
		b.Reset()
		for range 100 {
			b.Set("key", value)
			b.Delete("key")
		}
		b.SetOffset(1)
	}
	fill() // grow the buffers once
	assert.Zero(t, testing.AllocsPerRun(10, fill), "Reset keeps the buffers")
}

// failingStorage fails every write after the first few, to show that
// WriteBatch's fallback stops and never stores the offset of a batch it did
// not finish.
type failingStorage struct {
	storage.Storage
	writesLeft int
}

var errWriteFailed = errors.New("write failed")

func (f *failingStorage) Set(key string, value []byte) error {
	if f.writesLeft == 0 {
		return errWriteFailed
	}
	f.writesLeft--
	return f.Storage.Set(key, value)
}

func TestWriteBatchFallbackStopsBeforeOffset(t *testing.T) {
	st := &failingStorage{Storage: storage.NewMemory(), writesLeft: 1}
	defer st.Close()

	var b storage.Batch
	b.Set("a", []byte("1"))
	b.Set("b", []byte("2"))
	b.SetOffset(5)
	err := storage.WriteBatch(st, &b)
	assert.ErrorIs(t, err, errWriteFailed)

	off, err := st.GetOffset(-3)
	require.NoError(t, err)
	assert.Equal(t, int64(-3), off, "the offset must not run ahead of the data")
	a, err := st.Get("a")
	require.NoError(t, err)
	assert.Equal(t, []byte("1"), a)
}
