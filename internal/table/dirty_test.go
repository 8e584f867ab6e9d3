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
