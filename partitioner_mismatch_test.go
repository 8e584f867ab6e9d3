package goka

import (
	"errors"
	"testing"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sendToPartition writes key/value records to explicit partitions of topic,
// as a producer with another partitioner than the library's would, and
// returns the offset each got.
func (e *procEnv) sendToPartition(topic string, records ...partitionedRecord) []int64 {
	e.t.Helper()
	config := DefaultConfig()
	config.Producer.Partitioner = sarama.NewManualPartitioner
	config.Producer.Return.Successes = true
	producer, err := sarama.NewSyncProducer(e.brokers, config)
	require.NoError(e.t, err)
	defer func() { require.NoError(e.t, producer.Close()) }()
	offsets := make([]int64, len(records))
	for i, r := range records {
		_, offsets[i], err = producer.SendMessage(&sarama.ProducerMessage{
			Topic: topic, Partition: r.partition, Key: sarama.StringEncoder(r.key), Value: sarama.StringEncoder(r.value),
		})
		require.NoError(e.t, err)
	}
	return offsets
}

type partitionedRecord struct {
	key       string
	partition int32
	value     string
}

// keyIn and keyNotIn return the first key of the form keyOf(i) that the
// default hasher places in (or not in) partition p of n.
func keyIn(t *testing.T, p, n int32) string {
	for i := 0; ; i++ {
		if partitionOf(t, keyOf(i), n) == p {
			return keyOf(i)
		}
	}
}

func keyNotIn(t *testing.T, p, n int32) string {
	for i := 0; ; i++ {
		if partitionOf(t, keyOf(i), n) != p {
			return keyOf(i)
		}
	}
}

// TestForeignPartitionerStopsTheProcessor feeds a counting processor an
// input record that its producer put in another partition than FNV-1a would
// (as a murmur2 producer does): the table write of that key lands in another
// partition than its input. Run returns a *MessageError naming the record
// and the cause, and the record's offset is not committed.
func TestForeignPartitionerStopsTheProcessor(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, p = 4, 2
	env.createTopic("mixed", partitions)
	good, bad := keyIn(t, p, partitions), keyNotIn(t, p, partitions)
	offsets := env.sendToPartition("mixed",
		partitionedRecord{good, p, "a"},
		partitionedRecord{bad, p, "b"},
		partitionedRecord{good, p, "c"})

	gg := DefineGroup("foreign-partitioner", Input("mixed", new(codec.String), counter), Persist(new(codec.Int64)))
	r := env.start(env.processor(gg, storage.MemoryBuilder()))
	err := r.wait(t)

	var me *MessageError
	require.True(t, errors.As(err, &me), "a *MessageError, got %v", err)
	assert.Equal(t, "mixed", me.Topic)
	assert.Equal(t, int32(p), me.Partition)
	assert.Equal(t, offsets[1], me.Offset)
	assert.Equal(t, bad, me.Key)
	assert.ErrorIs(t, err, ErrForeignPartitioner)
	assert.ErrorContains(t, err, "another partitioner")
	assert.ErrorContains(t, err, "Murmur2Hasher")

	committed := env.committed("foreign-partitioner", "mixed", p)
	assert.LessOrEqual(t, committed, offsets[1], "nothing past the record is committed")
}
