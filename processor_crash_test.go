package goka

import (
	"sync"
	"testing"

	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeSet hands out memory stores that outlive the processor, as a disk
// does, so a test can look at them after Run and reuse them.
type storeSet struct {
	mu     sync.Mutex
	stores map[int32]storage.Storage
}

type survivingStore struct{ storage.Storage }

func (survivingStore) Close() error { return nil }
func (s survivingStore) WriteBatch(b *storage.Batch) error {
	return storage.WriteBatch(s.Storage, b)
}

func (s *storeSet) builder(topic string, partition int32) (storage.Storage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stores[partition]
	if !ok {
		st = survivingStore{storage.NewMemory()}
		s.stores[partition] = st
	}
	return st, nil
}

// TestProcessorRebuildsStoreLeftDirtyByACrash: while a processor runs, its
// stores are marked dirty, since they hold writes before Kafka acknowledges
// them; a clean stop stores the real offset. A store left dirty (a crash) is
// rebuilt from the topic, so a local write that never reached Kafka is gone.
func TestProcessorRebuildsStoreLeftDirtyByACrash(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys, perKey = 20, 3
	env.createTopic("clicks", 2)
	env.emitCounts("clicks", keys, perKey, "click")
	want := uniformCounts(keys, perKey)

	running := &storeSet{stores: make(map[int32]storage.Storage)}
	proc := env.processor(countingGraph(), running.builder)
	r := env.start(proc)
	eventually(t, "every key counted", func() bool { return hasCounts(proc, want) })

	// What a crash would leave behind: the running stores, dirty, plus a
	// write whose acknowledgement never came.
	crashed := &storeSet{stores: make(map[int32]storage.Storage)}
	for partition, st := range running.stores {
		offset, err := st.GetOffset(-1)
		require.NoError(t, err)
		assert.Equal(t, int64(table.DirtyOffset), offset, "partition %d is marked dirty while running", partition)
		cp := storage.NewMemory()
		it, err := st.Iterator()
		require.NoError(t, err)
		for it.Next() {
			v, err := it.Value()
			require.NoError(t, err)
			require.NoError(t, cp.Set(string(it.Key()), v))
		}
		it.Release()
		require.NoError(t, cp.SetOffset(offset))
		require.NoError(t, cp.Set("ghost", []byte("999")))
		crashed.stores[partition] = survivingStore{cp}
	}
	require.NoError(t, r.stop(t))
	for partition, st := range running.stores {
		offset, err := st.GetOffset(-1)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, offset, int64(0), "partition %d stores its real offset on a clean stop", partition)
	}

	restarted := env.processor(countingGraph(), crashed.builder)
	r = env.startReady(restarted)
	assert.True(t, hasCounts(restarted, want), "the rebuilt table has the acknowledged counts")
	ghost, err := restarted.Get("ghost")
	require.NoError(t, err)
	assert.Nil(t, ghost, "the unacknowledged write did not survive")
	require.NoError(t, r.stop(t))
}
