package kafkatest

import (
	"context"

	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine, the broker's or sarama's,
// outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, ignoreMeterArbiter)
}

// ignoreMeterArbiter exempts the one goroutine that is not a leak: sarama
// records metrics in github.com/rcrowley/go-metrics, whose first meter starts
// a process-wide ticker goroutine that by design runs until the process
// exits. No Close of sarama's stops it, and it is started once per process,
// not once per client.
var ignoreMeterArbiter = goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick")

// saramaVersion is the protocol version the library configures by default;
// these tests prove it works against this broker, and the version floor the
// broker enforces proves Kafka 4.x accepts every request it sends.
var saramaVersion = sarama.V2_8_0_0

// waitTimeout bounds every wait in these tests; the broker answers in
// milliseconds, so reaching it means something is broken.
const waitTimeout = 15 * time.Second

// libraryConfig is sarama configured as the library's DefaultConfig does,
// except that streams start at the oldest offset so the test sees what it
// produced before joining.
func libraryConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = saramaVersion
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.RequiredAcks = sarama.WaitForLocal
	cfg.Producer.Compression = sarama.CompressionSnappy
	cfg.Producer.Flush.Frequency = 100 * time.Millisecond
	cfg.Producer.Flush.Bytes = 64 << 10
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	return cfg
}

func newCluster(t *testing.T, opts ...Option) *Cluster {
	t.Helper()
	c, err := NewCluster(opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestSaramaAgainstCluster(t *testing.T) {
	checkLibraryFlow(t, newCluster(t))
}

// checkLibraryFlow runs against c what the library does with sarama: table
// topic creation and checks, producing, a consumer group that commits and
// resumes, partition consumers and offset queries.
func checkLibraryFlow(t *testing.T, c *Cluster) {
	cfg := libraryConfig()

	admin, err := sarama.NewClusterAdmin(c.Addrs(), cfg)
	require.NoError(t, err)
	defer func() { assert.NoError(t, admin.Close()) }()

	t.Log("a compacted table topic, its cleanup.policy read back")
	const topic = "group-table"
	compact := "compact"
	require.NoError(t, admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions:     2,
		ReplicationFactor: 1,
		ConfigEntries:     map[string]*string{"cleanup.policy": &compact},
	}, false))
	assert.Equal(t, "compact", topicConfig(t, admin, topic, "cleanup.policy"))

	t.Log("describing topics: partitions and replicas, and a missing topic")
	metas, err := admin.DescribeTopics([]string{topic, "missing"})
	require.NoError(t, err)
	require.Len(t, metas, 2)
	assert.Equal(t, sarama.ErrNoError, metas[0].Err)
	require.Len(t, metas[0].Partitions, 2)
	assert.Len(t, metas[0].Partitions[0].Replicas, 1)
	assert.Equal(t, sarama.ErrUnknownTopicOrPartition, metas[1].Err)

	t.Log("produce through the async producer")
	keys := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	produced := produce(t, c, cfg, topic, keys)
	require.Equal(t, int64(len(keys)), total(produced))

	t.Log("consume through a consumer group and commit")
	got := consumeGroup(t, c, cfg, "group", topic, len(keys))
	assert.ElementsMatch(t, keys, messageKeys(got))

	committed, err := admin.ListConsumerGroupOffsets("group", map[string][]int32{topic: {0, 1}})
	require.NoError(t, err)
	for p, n := range produced {
		block := committed.GetBlock(topic, p)
		require.NotNil(t, block, "partition %d", p)
		require.Equal(t, sarama.ErrNoError, block.Err)
		assert.Equal(t, n, block.Offset, "committed offset of partition %d", p)
	}

	t.Log("a restarted group resumes from the commit")
	more := produce(t, c, cfg, topic, []string{"late-1", "late-2", "late-3"})
	got = consumeGroup(t, c, cfg, "group", topic, 3)
	assert.ElementsMatch(t, []string{"late-1", "late-2", "late-3"}, messageKeys(got))
	for _, m := range got {
		assert.GreaterOrEqual(t, m.Offset, produced[m.Partition], "replayed %s", m.Key)
	}

	t.Log("a plain partition consumer from the oldest offset")
	consumer, err := sarama.NewConsumer(c.Addrs(), cfg)
	require.NoError(t, err)
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	require.NoError(t, err)
	select {
	case m := <-pc.Messages():
		assert.Equal(t, int64(0), m.Offset)
	case err := <-pc.Errors():
		t.Fatalf("partition consumer: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("no message from the partition consumer")
	}
	require.NoError(t, pc.Close())
	require.NoError(t, consumer.Close())

	t.Log("oldest and newest offsets")
	client, err := sarama.NewClient(c.Addrs(), cfg)
	require.NoError(t, err)
	defer func() { assert.NoError(t, client.Close()) }()
	for p := range produced {
		oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		require.NoError(t, err)
		assert.Equal(t, int64(0), oldest)
		newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		require.NoError(t, err)
		assert.Equal(t, produced[p]+more[p], newest)
	}

	assert.Empty(t, c.RefusedRequests(), "requests Kafka 4.x would refuse")
}

// TestMissingTopicsStayMissing checks that nothing creates topics on the
// side: the library must see a missing topic as missing, as on a broker with
// auto.create.topics.enable=false.
func TestMissingTopicsStayMissing(t *testing.T) {
	c := newCluster(t)
	cfg := libraryConfig()
	cfg.Producer.Retry.Max = 1
	cfg.Producer.Retry.Backoff = 10 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 10 * time.Millisecond
	require.True(t, cfg.Metadata.AllowAutoTopicCreation, "sarama asks for auto-creation by default; the broker must refuse")

	producer, err := sarama.NewAsyncProducer(c.Addrs(), cfg)
	require.NoError(t, err)
	producer.Input() <- &sarama.ProducerMessage{Topic: "missing", Value: sarama.StringEncoder("v")}
	select {
	case perr := <-producer.Errors():
		assert.ErrorIs(t, perr.Err, sarama.ErrUnknownTopicOrPartition)
	case <-producer.Successes():
		t.Fatal("produced to a topic nobody created")
	case <-time.After(waitTimeout):
		t.Fatal("no answer for the missing topic")
	}
	require.NoError(t, producer.Close())

	consumer, err := sarama.NewConsumer(c.Addrs(), cfg)
	require.NoError(t, err)
	_, err = consumer.ConsumePartition("missing", 0, sarama.OffsetOldest)
	assert.ErrorIs(t, err, sarama.ErrUnknownTopicOrPartition)
	require.NoError(t, consumer.Close())

	admin, err := sarama.NewClusterAdmin(c.Addrs(), cfg)
	require.NoError(t, err)
	defer func() { assert.NoError(t, admin.Close()) }()
	metas, err := admin.DescribeTopics([]string{"missing"})
	require.NoError(t, err)
	require.Len(t, metas, 1)
	assert.Equal(t, sarama.ErrUnknownTopicOrPartition, metas[0].Err)

	t.Log("goka's default replication of 2 needs two brokers, as on a real single node")
	err = admin.CreateTopic("replicated", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 2}, false)
	assert.ErrorIs(t, err, sarama.ErrInvalidReplicationFactor)
}

// topicConfig reads one config of a topic through DescribeConfigs, as the
// library's topic manager does.
func topicConfig(t *testing.T, admin sarama.ClusterAdmin, topic, key string) string {
	t.Helper()
	results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic}}, sarama.DescribeConfigsOptions{})
	require.NoError(t, err)
	require.Len(t, results, 1)
	require.Equal(t, sarama.ErrNoError, results[0].ErrorCode, results[0].ErrorMsg)
	for _, e := range results[0].Configs {
		if e.Name == key {
			return e.Value
		}
	}
	t.Fatalf("topic %s has no config %s", topic, key)
	return ""
}

// produce sends one message per key and returns how many landed in each
// partition.
func produce(t *testing.T, c *Cluster, cfg *sarama.Config, topic string, keys []string) map[int32]int64 {
	t.Helper()
	producer, err := sarama.NewAsyncProducer(c.Addrs(), cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, producer.Close()) }()
	for _, k := range keys {
		producer.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(k), Value: sarama.StringEncoder("value of " + k)}
	}
	perPartition := make(map[int32]int64)
	deadline := time.After(waitTimeout)
	for range keys {
		select {
		case m := <-producer.Successes():
			perPartition[m.Partition]++
		case perr := <-producer.Errors():
			t.Fatalf("produce: %v", perr)
		case <-deadline:
			t.Fatal("produce: no acknowledgement")
		}
	}
	return perPartition
}

func total(perPartition map[int32]int64) int64 {
	var n int64
	for _, v := range perPartition {
		n += v
	}
	return n
}

func messageKeys(ms []*sarama.ConsumerMessage) []string {
	keys := make([]string, len(ms))
	for i, m := range ms {
		keys[i] = string(m.Key)
	}
	return keys
}

// consumeGroup joins group, marks every message it gets until it has want of
// them, then leaves; leaving commits the marked offsets. It fails if more
// than want arrive before the session ends, which would be a replay.
func consumeGroup(t *testing.T, c *Cluster, cfg *sarama.Config, group, topic string, want int) []*sarama.ConsumerMessage {
	t.Helper()
	cg, err := sarama.NewConsumerGroup(c.Addrs(), group, cfg)
	require.NoError(t, err)

	var errs []error
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for err := range cg.Errors() {
			errs = append(errs, err)
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	h := &collector{want: want, full: make(chan struct{})}
	consumed := make(chan error, 1)
	go func() { consumed <- cg.Consume(ctx, []string{topic}, h) }()

	select {
	case <-h.full:
	case err := <-consumed:
		cancel()
		t.Fatalf("session ended early: %v", err)
	case <-time.After(waitTimeout):
		t.Fatalf("got %d of %d messages", len(h.messages()), want)
	}
	cancel()
	require.NoError(t, <-consumed)
	require.NoError(t, cg.Close())
	<-drained
	require.Empty(t, errs)

	got := h.messages()
	require.Len(t, got, want)
	return got
}

// collector is a consumer-group handler that marks and keeps what it reads.
type collector struct {
	want int
	full chan struct{}

	mu   sync.Mutex
	msgs []*sarama.ConsumerMessage
}

func (h *collector) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *collector) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *collector) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.mu.Lock()
		h.msgs = append(h.msgs, m)
		if len(h.msgs) == h.want {
			close(h.full)
		}
		h.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

func (h *collector) messages() []*sarama.ConsumerMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*sarama.ConsumerMessage(nil), h.msgs...)
}
