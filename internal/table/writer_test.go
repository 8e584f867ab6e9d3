package table

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// gatedStore holds its first batch write until the gate is opened.
type gatedStore struct {
	storage.Storage
	gate    chan struct{}
	writing chan struct{} // closed when the first write began
	n       atomic.Int32
}

func (g *gatedStore) WriteBatch(b *storage.Batch) error {
	if g.n.Add(1) == 1 {
		close(g.writing)
		<-g.gate
	}
	return storage.WriteBatch(g.Storage, b)
}

func TestRecordsAreTakenWhileABatchIsWritten(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.buffer = 200
	for i := range 40 {
		log.addString("k"+strconv.Itoa(i), "v")
	}
	st := &gatedStore{Storage: storage.NewMemory(), gate: make(chan struct{}), writing: make(chan struct{})}
	var applied atomic.Int64
	p := newPartition(t, log, st, func(c *Config) {
		c.MaxBatchRecords = 10
		c.Update = func(s storage.Storage, rec *Record) error {
			applied.Add(1)
			return s.Set(rec.Key, rec.Value)
		}
	})

	var opened atomic.Bool
	open := func() {
		if opened.CompareAndSwap(false, true) {
			close(st.gate)
		}
	}
	t.Cleanup(open) // before the partition's Close, should the test fail

	done := runAsync(func() error { return p.Recover(context.Background()) })
	<-st.writing
	// The first batch's write hangs; the next batch fills meanwhile.
	require.Eventually(t, func() bool { return applied.Load() >= 20 }, waitTimeout, time.Millisecond,
		"the loop stopped taking records while a batch was written")
	assert.Equal(t, int64(-3), storedOffset(t, st), "nothing is stored before the write ends")
	open()

	require.NoError(t, result(t, done))
	assert.Len(t, contents(t, st), 40)
	assert.Equal(t, int64(39), storedOffset(t, st))
	assert.Equal(t, int64(39), p.Stats().Recovery.Offset)
}

// slowStore yields before every batch write, so that a read racing with a
// write in flight would see the store without it.
type slowStore struct{ storage.Storage }

func (s slowStore) WriteBatch(b *storage.Batch) error {
	for range 20 {
		runtime.Gosched()
	}
	return storage.WriteBatch(s.Storage, b)
}

func TestUpdateReadsSeeTheBatchInFlight(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.buffer = 1000
	for i := range 300 {
		log.addString("k"+strconv.Itoa(i%3), "inc")
	}
	st := storage.NewMemory()
	p := newPartition(t, log, slowStore{st}, func(c *Config) {
		c.Update = counter
		c.MaxBatchRecords = 7
	})

	require.NoError(t, p.Recover(context.Background()))

	assert.Equal(t, map[string]string{"k0": "100", "k1": "100", "k2": "100"}, contents(t, st))
}

// panickingStore panics in its second batch write.
type panickingStore struct {
	storage.Storage
	n atomic.Int32
}

func (s *panickingStore) WriteBatch(b *storage.Batch) error {
	if s.n.Add(1) == 2 {
		panic("disk on fire")
	}
	return storage.WriteBatch(s.Storage, b)
}

func TestAPanickingBatchWriteIsAnError(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.buffer = 200
	for i := range 50 {
		log.addString("k"+strconv.Itoa(i), "v")
	}
	st := &panickingStore{Storage: storage.NewMemory()}
	p := newPartition(t, log, st, func(c *Config) { c.MaxBatchRecords = 10 })

	err := p.Recover(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk on fire")
	assert.Contains(t, err.Error(), `topic "tbl" partition 3 offset 19`)
	assert.Equal(t, int64(9), storedOffset(t, st), "the stored offset stays at the last batch written")
	assert.Zero(t, log.openConsumers())
}
