package table

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// A processor that crashed left local writes Kafka never acknowledged: a
// dirty store is emptied and rebuilt, so they do not survive.
func TestRecoverRebuildsADirtyStore(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	want := fillLog(log, 30)
	st := keepOpen{Storage: storage.NewMemory()}
	p := newPartition(t, log, st)
	require.NoError(t, p.Recover(context.Background()))
	require.Equal(t, want, contents(t, st))

	prev, err := p.MarkDirty()
	require.NoError(t, err)
	assert.Equal(t, int64(29), prev)
	assert.Equal(t, int64(DirtyOffset), storedOffset(t, st))
	// The processor writes locally; the crash comes before Kafka has them.
	for i := 0; i < 2*wipeBatch+10; i++ { // more than one wipe batch
		require.NoError(t, st.Set("unacked-"+strconv.Itoa(i), []byte("x")))
	}
	require.NoError(t, p.Close())

	restarted := newPartition(t, log, st)
	require.NoError(t, restarted.Recover(context.Background()))
	assert.Equal(t, want, contents(t, st), "only what the topic holds survives")
	assert.Equal(t, int64(29), storedOffset(t, st))
	assert.Equal(t, []int64{0, 0}, log.startOffsets(), "the rebuild reads from the oldest offset")
}

// A clean store (its real offset stored again) restores only the delta.
func TestCleanStoreRestoresOnlyTheDelta(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	fillLog(log, 30)
	st := keepOpen{Storage: storage.NewMemory()}
	p := newPartition(t, log, st)
	require.NoError(t, p.Recover(context.Background()))
	prev, err := p.MarkDirty()
	require.NoError(t, err)
	require.NoError(t, st.SetOffset(prev))
	require.NoError(t, p.Close())

	log.addString("k1", "new")
	restarted := newPartition(t, log, st)
	require.NoError(t, restarted.Recover(context.Background()))
	assert.Equal(t, []int64{0, 30}, log.startOffsets())
	assert.Equal(t, "new", contents(t, st)["k1"])
}

// wipeWatch counts the iterators taken from a store and runs onBatch after
// every batch written to it.
type wipeWatch struct {
	keepOpen
	iterators int
	onBatch   func()
}

func (w *wipeWatch) Iterator() (storage.Iterator, error) {
	w.iterators++
	return w.keepOpen.Iterator()
}

func (w *wipeWatch) WriteBatch(b *storage.Batch) error {
	err := w.keepOpen.WriteBatch(b)
	if w.onBatch != nil {
		w.onBatch()
	}
	return err
}

// dirtyStoreOf returns a store restored from log, marked dirty and holding
// extra local writes, as a crashed processor leaves it.
func dirtyStoreOf(t *testing.T, log *fakeLog, extra int) storage.Storage {
	t.Helper()
	st := keepOpen{Storage: storage.NewMemory()}
	p := newPartition(t, log, st)
	require.NoError(t, p.Recover(context.Background()))
	_, err := p.MarkDirty()
	require.NoError(t, err)
	for i := 0; i < extra; i++ {
		require.NoError(t, st.Set("unacked-"+strconv.Itoa(i), []byte("x")))
	}
	require.NoError(t, p.Close())
	return st.Storage
}

// Emptying a dirty store walks it once, through one snapshot: a new
// iterator per batch walked the tombstones of every earlier batch again on
// LevelDB, quadratic in the store's size.
func TestWipeTakesOneSnapshot(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	want := fillLog(log, 30)
	w := &wipeWatch{keepOpen: keepOpen{Storage: dirtyStoreOf(t, log, 3*wipeBatch+10)}}

	restarted := newPartition(t, log, w)
	require.NoError(t, restarted.Recover(context.Background()))
	assert.Equal(t, want, contents(t, w.Storage), "only what the topic holds survives")
	assert.Equal(t, 1, w.iterators, "one iterator for the whole store")
}

// A stop while a dirty store is emptied ends the restore at the next batch
// and leaves the store dirty, so the next start empties the rest.
func TestWipeStopsWhenCancelled(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	want := fillLog(log, 30)
	w := &wipeWatch{keepOpen: keepOpen{Storage: dirtyStoreOf(t, log, 3*wipeBatch+10)}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.onBatch = cancel

	stopped := newPartition(t, log, w)
	err := stopped.Recover(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(DirtyOffset), storedOffset(t, w.Storage), "still dirty")
	assert.Greater(t, len(contents(t, w.Storage)), len(want), "the wipe stopped part way")
	require.NoError(t, stopped.Close())

	w.onBatch = nil
	restarted := newPartition(t, log, w)
	require.NoError(t, restarted.Recover(context.Background()))
	assert.Equal(t, want, contents(t, w.Storage), "the next start empties the rest")
}
