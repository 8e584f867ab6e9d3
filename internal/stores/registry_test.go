package stores

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counted builds table partitions on memory stores and counts the builds.
func counted(builds *int) func(string, int32) *table.Partition {
	return func(topic string, partition int32) *table.Partition {
		*builds++
		return table.New(table.Config{Topic: topic, Partition: partition, Builder: storage.MemoryBuilder()})
	}
}

// TestRegistryKeepsTablesUntilRetainOrClose: a table acquired twice is the
// same open table with the same store; Retain closes the tables of the
// partitions it drops, Close the rest, and a closed registry keeps nothing.
func TestRegistryKeepsTablesUntilRetainOrClose(t *testing.T) {
	var builds int
	r := New(counted(&builds))
	a0 := r.Acquire("t", 0)
	require.NoError(t, a0.Table.Open(context.Background()))
	require.NoError(t, a0.Table.Storage().Set("k", []byte("v")))
	a1 := r.Acquire("t", 1)
	require.NoError(t, a1.Table.Open(context.Background()))
	j0 := r.Acquire("j", 0)

	again := r.Acquire("t", 0)
	assert.Same(t, a0, again)
	v, err := again.Table.Storage().Get("k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
	assert.Equal(t, 3, builds)
	assert.Equal(t, []int32{0, 1}, r.Held())

	require.NoError(t, r.Retain(func(p int32) bool { return p == 0 }))
	assert.Equal(t, []int32{0}, r.Held())
	_, err = a1.Table.Storage().Get("k")
	assert.ErrorIs(t, err, storage.ErrClosed, "the dropped partition's store is closed")
	_, err = a0.Table.Storage().Get("k")
	assert.NoError(t, err, "the kept partition's store is open")

	require.NoError(t, r.Close())
	assert.Empty(t, r.Held())
	_, err = a0.Table.Storage().Get("k")
	assert.ErrorIs(t, err, storage.ErrClosed)
	assert.Error(t, j0.Table.Open(context.Background()), "a table is closed even if never opened")

	late := r.Acquire("t", 0)
	err = late.Table.Open(context.Background())
	assert.True(t, errors.Is(err, table.ErrClosed), "after Close a new table is closed: %v", err)
	assert.Empty(t, r.Held())
}

// TestRegistryAbandonClosesWhenDone: an abandoned table is forgotten at
// once and closed only when its last user ends; the entry that replaces it
// waits for that close before opening, and Close waits for it too.
func TestRegistryAbandonClosesWhenDone(t *testing.T) {
	var builds int
	r := New(counted(&builds))
	e := r.Acquire("t", 0)
	require.NoError(t, e.Table.Open(context.Background()))
	done := make(chan struct{})
	r.Abandon("t", 0, done)
	assert.Empty(t, r.Held())
	_, err := e.Table.Storage().Get("k")
	assert.NoError(t, err, "still open while its user runs")

	again := r.Acquire("t", 0)
	waited := make(chan error)
	go func() { waited <- again.Wait(context.Background()) }()
	select {
	case <-waited:
		t.Fatal("Wait did not wait for the abandoned table to close")
	case <-time.After(50 * time.Millisecond):
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, again.Wait(cancelled), context.Canceled)
	close(done)
	select {
	case err := <-waited:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the close")
	}
	require.NoError(t, r.Acquire("t", 1).Wait(context.Background()), "another partition does not wait")
	assert.NotSame(t, e, again)
	_, err = e.Table.Storage().Get("k")
	assert.ErrorIs(t, err, storage.ErrClosed)

	r.Abandon("t", 2, nil) // not held: nothing to do
	late := make(chan struct{})
	r.Abandon("t", 0, late)
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	select {
	case <-closed:
		t.Fatal("Close did not wait for the abandoned table")
	case <-time.After(50 * time.Millisecond):
	}
	close(late)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
}
