package table

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
)

// clientOffsets is the Offsets of the integration test, as the root
// package's topic manager provides it.
type clientOffsets struct{ client sarama.Client }

func (o clientOffsets) GetOffset(topic string, partition int32, at int64) (int64, error) {
	return o.client.GetOffset(topic, partition, at)
}

// kafkaTable is a table topic on an embedded broker with a producer and
// a consumer for it.
type kafkaTable struct {
	cluster  *kafkatest.Cluster
	client   sarama.Client
	consumer sarama.Consumer
	producer sarama.SyncProducer
	topic    string
	// want is the table the produced records describe.
	want map[string]string
}

func newKafkaTable(t *testing.T, topic string) *kafkaTable {
	cluster, err := kafkatest.NewCluster()
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	require.NoError(t, cluster.CreateTopic(topic, 4, map[string]string{"cleanup.policy": "compact"}))

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0 // the library's default, /work/notes/sarama-version.md
	cfg.Consumer.Return.Errors = true
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	client, err := sarama.NewClient(cluster.Addrs(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, client.Close()) })
	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, consumer.Close()) })
	producer, err := sarama.NewSyncProducerFromClient(client)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, producer.Close()) })
	return &kafkaTable{cluster: cluster, client: client, consumer: consumer, producer: producer, topic: topic, want: make(map[string]string)}
}

// produce writes n records to partition, over about n/4 keys so that most
// keys are written several times, with a tombstone every ninth record. It
// also writes some records to partition 0, which the test never reads.
func (k *kafkaTable) produce(t *testing.T, partition int32, n int, tag string) {
	msgs := make([]*sarama.ProducerMessage, 0, n)
	for i := range n {
		key := "key-" + strconv.Itoa((i*7919)%(n/4+1))
		msg := &sarama.ProducerMessage{Topic: k.topic, Partition: partition, Key: sarama.StringEncoder(key)}
		if i%9 == 8 {
			delete(k.want, key)
		} else {
			value := tag + "-" + strconv.Itoa(i)
			msg.Value = sarama.StringEncoder(value)
			k.want[key] = value
		}
		msgs = append(msgs, msg)
		if i%10 == 0 {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: k.topic, Partition: 0, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("other")})
		}
	}
	for len(msgs) > 0 {
		chunk := msgs[:min(len(msgs), 1000)]
		msgs = msgs[len(chunk):]
		require.NoError(t, k.producer.SendMessages(chunk))
	}
}

func (k *kafkaTable) partition(t *testing.T, partition int32, builder storage.Builder) *Partition {
	p := New(Config{
		Topic: k.topic, Partition: partition, Builder: builder,
		Consumer: k.consumer, Offsets: clientOffsets{k.client},
		Logf: t.Logf,
	})
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestRecoverFromKafka(t *testing.T) {
	const partition = int32(2)
	k := newKafkaTable(t, "kafka-table")
	k.produce(t, partition, 10_000, "first")
	hwm, err := k.client.GetOffset(k.topic, partition, sarama.OffsetNewest)
	require.NoError(t, err)
	require.Equal(t, int64(10_000), hwm)
	dir := t.TempDir()
	ctx := context.Background()

	t.Log("recover into an empty LevelDB store")
	first := k.partition(t, partition, storage.DefaultBuilder(dir))
	require.NoError(t, first.Recover(ctx))
	assert.Equal(t, k.want, contents(t, first.Storage()))
	assert.Equal(t, int64(9_999), storedOffset(t, first.Storage()))
	assert.Equal(t, int64(10_000), first.Stats().Input.Count)
	require.NoError(t, first.Close())

	t.Log("restart on the same store: only the delta is read")
	k.produce(t, partition, 400, "second")
	again := k.partition(t, partition, storage.DefaultBuilder(dir))
	require.NoError(t, again.Recover(ctx))
	assert.Equal(t, int64(400), again.Stats().Input.Count)
	assert.Equal(t, k.want, contents(t, again.Storage()))
	assert.Equal(t, int64(10_399), storedOffset(t, again.Storage()))

	t.Log("follow: new records show up")
	followCtx, stopFollow := context.WithCancel(ctx)
	done := runAsync(func() error { return again.Follow(followCtx) })
	waitState(t, again, Running)
	k.produce(t, partition, 20, "third")
	require.Eventually(t, func() bool { return storedOffset(t, again.Storage()) == 10_419 }, waitTimeout, time.Millisecond)
	stopFollow()
	require.NoError(t, result(t, done))
	assert.Equal(t, k.want, contents(t, again.Storage()))
	require.NoError(t, again.Close())

	t.Log("a fresh store over the compacted topic gives the same table")
	k.cluster.Compact()
	fresh := k.partition(t, partition, storage.DefaultBuilder(t.TempDir()))
	require.NoError(t, fresh.Recover(ctx))
	assert.Equal(t, k.want, contents(t, fresh.Storage()))
	assert.Less(t, fresh.Stats().Input.Count, int64(10_420), "compaction removed records")
	assert.Equal(t, int64(10_419), storedOffset(t, fresh.Storage()))
	require.NoError(t, fresh.Close())

	t.Log("a store ahead of the topic is refused")
	ahead := storage.NewMemory()
	require.NoError(t, ahead.SetOffset(20_000))
	refused := k.partition(t, partition, func(string, int32) (storage.Storage, error) { return ahead, nil })
	require.ErrorIs(t, refused.Recover(ctx), ErrStoreAhead)
}

// TestRecoverFromTransactionalTopic recovers a partition whose last offset
// is a transaction commit marker, which no consumer receives: recovery must
// end anyway, after the idle timeout.
func TestRecoverFromTransactionalTopic(t *testing.T) {
	k := newKafkaTable(t, "tx-table")
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Transaction.ID = "table-test"
	cfg.Net.MaxOpenRequests = 1
	producer, err := sarama.NewSyncProducer(k.cluster.Addrs(), cfg)
	require.NoError(t, err)
	defer func() { assert.NoError(t, producer.Close()) }()
	require.NoError(t, producer.BeginTxn())
	for i := range 50 {
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: k.topic, Partition: 1,
			Key: sarama.StringEncoder("k" + strconv.Itoa(i%10)), Value: sarama.StringEncoder(strconv.Itoa(i))})
		require.NoError(t, err)
	}
	require.NoError(t, producer.CommitTxn())
	hwm, err := k.client.GetOffset(k.topic, 1, sarama.OffsetNewest)
	require.NoError(t, err)
	require.Equal(t, int64(51), hwm, "50 records and the commit marker")

	var lines logLines
	p := New(Config{
		Topic: k.topic, Partition: 1, Builder: storage.MemoryBuilder(),
		Consumer: k.consumer, Offsets: clientOffsets{k.client},
		IdleTimeout: 200 * time.Millisecond, Logf: lines.logf,
	})
	defer func() { assert.NoError(t, p.Close()) }()

	require.NoError(t, p.Recover(context.Background()))

	assert.Equal(t, int64(49), storedOffset(t, p.Storage()))
	assert.Len(t, contents(t, p.Storage()), 10)
	require.Len(t, lines.all(), 1)
	assert.Contains(t, lines.all()[0], "transaction markers")
}
