package table

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

func keepConsumer(c *Config) { c.KeepConsumer = true }

// TestFollowTakesOverRecoversConsumer: with KeepConsumer, the consumer that
// restored the partition keeps going in Follow; records written between
// the two are applied by it, and only one consumer was ever started.
func TestFollowTakesOverRecoversConsumer(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	want := fillLog(log, 30)
	st := storage.NewMemory()
	p := newPartition(t, log, st, keepConsumer)
	require.NoError(t, p.Recover(context.Background()))
	assert.Equal(t, want, contents(t, st))
	assert.Equal(t, 1, log.openConsumers(), "Recover left its consumer running")
	log.addString("between", "1")

	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(func() error { return p.Follow(ctx) })
	waitValue(t, st, "between", "1")
	log.addString("after", "2")
	waitValue(t, st, "after", "2")
	cancel()
	require.NoError(t, result(t, done))

	assert.Equal(t, []int64{0}, log.startOffsets(), "Follow started no consumer of its own")
	assert.Zero(t, log.openConsumers(), "Follow closed the consumer it took over")
	assert.Equal(t, int64(31), storedOffset(t, st))
	assert.Equal(t, int64(32), p.Stats().Input.Count)
}

// TestParkedConsumerClosedByClose: a consumer no Follow took is closed with
// the partition.
func TestParkedConsumerClosedByClose(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	fillLog(log, 10)
	p := newPartition(t, log, storage.NewMemory(), keepConsumer)
	require.NoError(t, p.Recover(context.Background()))
	require.Equal(t, 1, log.openConsumers())
	require.NoError(t, p.Close())
	assert.Zero(t, log.openConsumers())
}

// TestParkedConsumerWhenUpToDate: a Recover with nothing to read still
// leaves a consumer at the high-water mark, which Follow takes.
func TestParkedConsumerWhenUpToDate(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	fillLog(log, 10)
	st := storage.NewMemory()
	require.NoError(t, st.SetOffset(9))
	p := newPartition(t, log, st, keepConsumer)
	require.NoError(t, p.Recover(context.Background()))
	assert.Equal(t, []int64{10}, log.startOffsets(), "a consumer at the high-water mark")
	assert.Equal(t, 1, log.openConsumers())

	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(func() error { return p.Follow(ctx) })
	log.addString("new", "1")
	waitValue(t, st, "new", "1")
	cancel()
	require.NoError(t, result(t, done))
	assert.Equal(t, []int64{10}, log.startOffsets())
	assert.Zero(t, log.openConsumers())

	t.Log("an empty topic: nothing stored, the consumer waits at the start")
	empty := newFakeLog(testTopic, testPartition)
	est := storage.NewMemory()
	q := newPartition(t, empty, est, keepConsumer)
	require.NoError(t, q.Recover(context.Background()))
	ctx, cancel = context.WithCancel(context.Background())
	done = runAsync(func() error { return q.Follow(ctx) })
	empty.addString("first", "1")
	waitValue(t, est, "first", "1")
	cancel()
	require.NoError(t, result(t, done))
	assert.Equal(t, []int64{0}, empty.startOffsets())
}

// TestParkedConsumerDroppedWhenTheStoreMoved: when the store's offset no
// longer matches the parked consumer (someone else wrote it), Follow
// closes it and starts where the store says.
func TestParkedConsumerDroppedWhenTheStoreMoved(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	fillLog(log, 10)
	st := storage.NewMemory()
	p := newPartition(t, log, st, keepConsumer)
	require.NoError(t, p.Recover(context.Background()))
	for range 5 {
		log.addString("written", "elsewhere")
	}
	require.NoError(t, st.Set("written", []byte("elsewhere")))
	require.NoError(t, st.SetOffset(12))

	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(func() error { return p.Follow(ctx) })
	log.addString("new", "1")
	waitValue(t, st, "new", "1")
	cancel()
	require.NoError(t, result(t, done))
	assert.Equal(t, []int64{0, 13}, log.startOffsets(), "the parked consumer stood at 10")
	assert.Zero(t, log.openConsumers())
	assert.Equal(t, int64(3), p.Stats().Input.Count-10, "offsets 13 to 15")
}

// TestRecoverWithoutKeepConsumerClosesIt: without KeepConsumer, Recover
// closes its consumer in the background; a Follow after it starts its own
// once that close is done (the fake refuses two at a time, as sarama does),
// and Close waits for it.
func TestRecoverWithoutKeepConsumerClosesIt(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	fillLog(log, 10)
	st := storage.NewMemory()
	p := newPartition(t, log, st)
	require.NoError(t, p.Recover(context.Background()))
	require.Eventually(t, func() bool { return log.openConsumers() == 0 }, waitTimeout, time.Millisecond)

	require.NoError(t, p.Recover(context.Background()), "nothing to read")
	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(func() error { return p.Follow(ctx) })
	log.addString("new", "1")
	waitValue(t, st, "new", "1")
	cancel()
	require.NoError(t, result(t, done))
	assert.Equal(t, []int64{0, 10}, log.startOffsets())

	q := newPartition(t, log, storage.NewMemory())
	require.NoError(t, q.Recover(context.Background()))
	require.NoError(t, q.Close())
	assert.Zero(t, log.openConsumers(), "Close waited for the close")
}

// TestMarkDirtyReleasesTheParkedConsumer: an owner that writes the store
// itself after recovering (an active processor) will not follow: MarkDirty
// closes the consumer Recover kept.
func TestMarkDirtyReleasesTheParkedConsumer(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	fillLog(log, 10)
	p := newPartition(t, log, storage.NewMemory(), keepConsumer)
	require.NoError(t, p.Recover(context.Background()))
	require.Equal(t, 1, log.openConsumers())
	_, err := p.MarkDirty()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return log.openConsumers() == 0 }, waitTimeout, time.Millisecond)
}

// TestHandOffOnKafka restores and follows a partition on the embedded
// broker with a long poll far longer than the test may take: a Recover
// that closed its consumer waited for the poll in flight before it
// returned, and a Follow with a consumer of its own started fetching only
// after sarama's 100 ms subscription batching. With KeepConsumer neither
// waits: Recover returns as soon as the last record is stored, and a
// record written right after is applied within milliseconds.
func TestHandOffOnKafka(t *testing.T) {
	const (
		partition = int32(2)
		longPoll  = 2 * time.Second
	)
	k := newKafkaTableWith(t, "handoff-table", nil, func(c *sarama.Config) { c.Consumer.MaxWaitTime = longPoll })
	k.produce(t, partition, 1_000, "first")
	st := storage.NewMemory()
	p := New(Config{
		Topic: k.topic, Partition: partition, Builder: func(string, int32) (storage.Storage, error) { return st, nil },
		Consumer: k.consumer, Offsets: clientOffsets{k.client},
		Logf: t.Logf, KeepConsumer: true,
	})
	t.Cleanup(func() { _ = p.Close() })

	began := time.Now()
	require.NoError(t, p.Recover(context.Background()))
	took := time.Since(began)
	t.Logf("recovered 1,000 records in %s", took)
	assert.Less(t, took, longPoll/2, "Recover waited for the consumer's long poll")
	assert.Equal(t, k.want, contents(t, st))

	// A producer of its own: on the consumer's connection, a write would
	// queue behind the long poll it should end.
	pcfg := sarama.NewConfig()
	pcfg.Version = sarama.V2_8_0_0
	pcfg.Producer.Return.Successes = true
	pcfg.Producer.Partitioner = sarama.NewManualPartitioner
	producer, err := sarama.NewSyncProducer(k.cluster.Addrs(), pcfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, producer.Close()) })

	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(func() error { return p.Follow(ctx) })
	var worst time.Duration
	for i := range 20 {
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: k.topic, Partition: partition,
			Key: sarama.StringEncoder("follow"), Value: sarama.StringEncoder(string(rune('a' + i)))})
		require.NoError(t, err)
		sent := time.Now()
		waitValue(t, st, "follow", string(rune('a'+i)))
		worst = max(worst, time.Since(sent))
	}
	t.Logf("worst lag of 20 records written after the recovery: %s", worst)
	assert.Less(t, worst, 80*time.Millisecond, "a record written after the recovery waited for a new consumer")
	cancel()
	require.NoError(t, result(t, done))

	t.Log("without KeepConsumer, Recover closes its consumer in the background and returns as early")
	k.produce(t, 1, 1_000, "other")
	other := New(Config{
		Topic: k.topic, Partition: 1, Builder: storage.MemoryBuilder(),
		Consumer: k.consumer, Offsets: clientOffsets{k.client}, Logf: t.Logf,
	})
	began = time.Now()
	require.NoError(t, other.Recover(context.Background()))
	took = time.Since(began)
	t.Logf("recovered 1,000 records in %s", took)
	assert.Less(t, took, longPoll/2, "Recover waited for the consumer's long poll")
	require.NoError(t, other.Close())
}
