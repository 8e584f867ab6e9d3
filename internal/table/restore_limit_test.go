package table

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// restoreWatch counts the partitions between the first and the last record
// of their restore, and holds each at its first record until let go.
type restoreWatch struct {
	mu      sync.Mutex
	active  map[int32]bool
	most    int
	gates   map[int32]chan struct{}
	abort   chan struct{} // lets every restore go when a test fails
	records int64         // records per partition
}

func (w *restoreWatch) update(st storage.Storage, rec *Record) error {
	if rec.Offset == 0 {
		w.mu.Lock()
		w.active[rec.Partition] = true
		w.most = max(w.most, len(w.active))
		gate := w.gates[rec.Partition]
		w.mu.Unlock()
		select {
		case <-gate:
		case <-w.abort:
		}
	}
	if rec.Offset == w.records-1 {
		// Before Recover returns and gives its slot back.
		w.mu.Lock()
		delete(w.active, rec.Partition)
		w.mu.Unlock()
	}
	if rec.Value == nil {
		return st.Delete(rec.Key)
	}
	return st.Set(rec.Key, rec.Value)
}

// limitPoll is how often the tests check a condition.
const limitPoll = 5 * time.Millisecond

func (w *restoreWatch) running() []int32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []int32
	for p := range w.active {
		parts = append(parts, p)
	}
	return parts
}

func (w *restoreWatch) peak() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.most
}

func TestRestoreLimitBoundsConcurrentRestores(t *testing.T) {
	const (
		partitions = 8
		limit      = 3
		records    = 20
	)
	w := &restoreWatch{active: make(map[int32]bool), gates: make(map[int32]chan struct{}), abort: make(chan struct{}), records: records}
	rl := NewRestoreLimit(limit)
	for i := range int32(partitions) {
		w.gates[i] = make(chan struct{})
	}
	results := make([]<-chan error, partitions)
	for i := range int32(partitions) {
		log := newFakeLog(testTopic, i)
		fillLog(log, records)
		p := New(Config{
			Topic:        testTopic,
			Partition:    i,
			Builder:      func(string, int32) (storage.Storage, error) { return storage.NewMemory(), nil },
			Consumer:     log,
			Offsets:      log,
			Update:       w.update,
			RestoreLimit: rl,
		})
		t.Cleanup(func() { _ = p.Close() })
		results[i] = runAsync(func() error { return p.Recover(context.Background()) })
	}
	t.Cleanup(func() { close(w.abort) }) // first: the partitions' Close waits for their Recover
	for left := partitions; left > 0; left-- {
		// The restores holding a slot reach their first record; the others
		// wait for a slot, so no more than the limit run.
		want := min(limit, left)
		require.Eventually(t, func() bool { return len(w.running()) == want && rl.Waiting() == left-want },
			waitTimeout, limitPoll, "%d restores left", left)
		require.LessOrEqual(t, w.peak(), limit)
		close(w.gates[w.running()[0]])
	}
	for i, res := range results {
		require.NoError(t, result(t, res), "partition %d", i)
	}
	assert.Equal(t, limit, w.peak(), "the limit was reached, not exceeded")
	assert.Zero(t, rl.Running())
}

func TestRestoreWaitingForASlotEndsWithItsContextOrClose(t *testing.T) {
	rl := NewRestoreLimit(1)
	release, err := rl.acquire(context.Background(), nil)
	require.NoError(t, err)
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	p := newPartition(t, newFakeLog(testTopic, testPartition), storage.NewMemory(), func(c *Config) { c.RestoreLimit = rl })
	res := runAsync(func() error { return p.Recover(ctx) })
	require.Eventually(t, func() bool { return rl.Waiting() == 1 }, waitTimeout, limitPoll)
	cancel()
	require.ErrorIs(t, result(t, res), context.Canceled)

	res = runAsync(func() error { return p.Recover(context.Background()) })
	require.Eventually(t, func() bool { return rl.Waiting() == 1 }, waitTimeout, limitPoll)
	require.NoError(t, p.Close())
	err = result(t, res)
	require.ErrorIs(t, err, ErrClosed)
	assert.True(t, errors.Is(err, ErrClosed), fmt.Sprint(err))
	assert.Zero(t, rl.Waiting())
}

func TestNoRestoreLimit(t *testing.T) {
	var rl *RestoreLimit = NewRestoreLimit(0)
	assert.Nil(t, rl)
	assert.Zero(t, rl.Limit())
	release, err := rl.acquire(context.Background(), nil)
	require.NoError(t, err)
	release()
}

// slowClose is a consumer whose partition consumers' Close waits until
// closing is closed, as sarama's waits for the fetch in flight.
type slowClose struct {
	*fakeLog
	closing chan struct{}
}

func (c slowClose) ConsumePartition(topic string, partition int32, offset int64) (sarama.PartitionConsumer, error) {
	pc, err := c.fakeLog.ConsumePartition(topic, partition, offset)
	if err != nil {
		return nil, err
	}
	return slowClosePC{pc, c.closing}, nil
}

type slowClosePC struct {
	sarama.PartitionConsumer
	closing chan struct{}
}

func (pc slowClosePC) Close() error {
	<-pc.closing
	return pc.PartitionConsumer.Close()
}

func TestRestoreGivesItsSlotBackBeforeItsConsumerCloses(t *testing.T) {
	rl := NewRestoreLimit(1)
	slowLog := newFakeLog(testTopic, testPartition)
	want := fillLog(slowLog, 10)
	closing := make(chan struct{})
	slow := newPartition(t, slowLog, storage.NewMemory(), func(c *Config) {
		c.RestoreLimit = rl
		c.Consumer = slowClose{slowLog, closing}
	})
	letClose := sync.OnceFunc(func() { close(closing) })
	t.Cleanup(letClose) // first: Close waits for the Recover
	slowDone := runAsync(func() error { return slow.Recover(context.Background()) })
	require.Eventually(t, func() bool { return slow.Stats().Input.Count == 10 && rl.Running() == 0 }, waitTimeout, limitPoll,
		"the slot is free once the records are applied")

	nextLog := newFakeLog(testTopic, testPartition)
	fillLog(nextLog, 5)
	nextStore := storage.NewMemory()
	next := newPartition(t, nextLog, nextStore, func(c *Config) { c.RestoreLimit = rl })
	require.NoError(t, result(t, runAsync(func() error { return next.Recover(context.Background()) })),
		"the next restore runs while the first one's consumer still closes")
	// The first Recover may already have returned (its consumer closes in
	// the background, see handoff.go); either way its consumer still closes.
	require.NoError(t, result(t, slowDone))
	letClose()
	assert.Equal(t, want, contents(t, slow.Storage()))
}

// A restore of fewer records than the limit's exemption runs while every
// slot is taken; one of as many waits.
func TestSmallRestoresTakeNoSlot(t *testing.T) {
	rl := NewRestoreLimit(1).ExemptBelow(10)
	release, err := rl.acquire(context.Background(), nil)
	require.NoError(t, err)

	smallLog := newFakeLog(testTopic, testPartition)
	want := fillLog(smallLog, 9)
	small := newPartition(t, smallLog, storage.NewMemory(), func(c *Config) { c.RestoreLimit = rl })
	require.NoError(t, result(t, runAsync(func() error { return small.Recover(context.Background()) })),
		"a restore of 9 records runs beside a taken slot")
	assert.Equal(t, want, contents(t, small.Storage()))

	bigLog := newFakeLog(testTopic, testPartition)
	want = fillLog(bigLog, 10)
	big := newPartition(t, bigLog, storage.NewMemory(), func(c *Config) { c.RestoreLimit = rl })
	done := runAsync(func() error { return big.Recover(context.Background()) })
	require.Eventually(t, func() bool { return rl.Waiting() == 1 }, waitTimeout, limitPoll, "a restore of 10 records waits for the slot")
	release()
	require.NoError(t, result(t, done))
	assert.Equal(t, want, contents(t, big.Storage()))
}
