package kafkatest

import (
	"bytes"
	"context"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

// kfakeGoroutines returns the stacks of goroutines running kfake code,
// looked at once, with no retry: Close promises there are none when it
// returns.
func kfakeGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for block := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(block, []byte(kfakePrefix)) {
			found = append(found, string(block))
		}
	}
	return found
}

func TestCloseWaitsForEveryGoroutine(t *testing.T) {
	c, err := NewCluster(WithBrokers(2))
	require.NoError(t, err)
	require.NoError(t, c.CreateTopic("topic", 2, nil))

	t.Log("a sarama client and a raw connection are still connected at Close")
	cfg := libraryConfig()
	client, err := sarama.NewClient(c.Addrs(), cfg)
	require.NoError(t, err)
	require.NoError(t, client.RefreshMetadata("topic"))
	raw, err := net.Dial("tcp", c.Addrs()[1])
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Write(kmsg.NewRequestFormatter().AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 1))
	require.NoError(t, err)
	require.NotEmpty(t, kfakeGoroutines())

	c.Close()
	assert.Empty(t, kfakeGoroutines())

	require.NoError(t, client.Close())
	goleak.VerifyNone(t, ignoreMeterArbiter)
}

func TestCloseIsIdempotent(t *testing.T) {
	c, err := NewCluster()
	require.NoError(t, err)
	addrs := c.Addrs()

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(c.Close)
	}
	wg.Wait()
	c.Close()

	assert.Equal(t, addrs, c.Addrs(), "addresses stay readable")
	c.Compact() // must not block on the stopped broker
	err = c.CreateTopic("late", 1, nil)
	assert.Error(t, err, "nothing listens any more")
	assert.Empty(t, kfakeGoroutines())
}

func TestTwoClustersSideBySide(t *testing.T) {
	a := newCluster(t)
	b := newCluster(t)
	require.NotEqual(t, a.Addrs(), b.Addrs())

	require.NoError(t, a.CreateTopic("only-in-a", 1, nil))
	assert.Equal(t, []string{"only-in-a"}, topics(t, a))
	assert.Empty(t, topics(t, b))

	a.Close()
	require.NoError(t, b.CreateTopic("only-in-b", 1, nil))
	assert.Equal(t, []string{"only-in-b"}, topics(t, b), "closing one cluster leaves the other running")
}

func TestWithPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := taken.Addr().(*net.TCPAddr).Port

	_, err = NewCluster(WithPort(port))
	require.Error(t, err, "the port is in use")
	require.NoError(t, taken.Close())

	c := newCluster(t, WithPort(port), WithBrokers(2))
	addrs := c.Addrs()
	require.Len(t, addrs, 2)
	assert.Equal(t, "127.0.0.1:"+strconv.Itoa(port), addrs[0])
	host, _, err := net.SplitHostPort(addrs[1])
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
}

func TestInvalidOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"no brokers":    WithBrokers(0),
		"no partitions": WithPartitions(0),
		"negative port": WithPort(-1),
		"port too high": WithPort(70000),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewCluster(opt)
			assert.ErrorIs(t, err, ErrInvalidOption)
		})
	}
}

func TestTopicsAndPartitionCounts(t *testing.T) {
	c := newCluster(t,
		WithPartitions(3),
		WithSeedTopics(2, "seed-a", "seed-b"),
		WithSeedTopics(0, "seed-default"),
	)
	require.NoError(t, c.CreateTopic("created", 4, map[string]string{"cleanup.policy": "compact"}))
	require.NoError(t, c.CreateTopic("created-default", 0, nil))

	err := c.CreateTopic("created", 4, nil)
	assert.ErrorIs(t, err, kerr.TopicAlreadyExists)

	client, err := sarama.NewClient(c.Addrs(), libraryConfig())
	require.NoError(t, err)
	defer func() { assert.NoError(t, client.Close()) }()
	for topic, want := range map[string]int{
		"seed-a": 2, "seed-b": 2, "seed-default": 3, "created": 4, "created-default": 3,
	} {
		partitions, err := client.Partitions(topic)
		require.NoError(t, err, topic)
		assert.Len(t, partitions, want, topic)
	}

	admin, err := sarama.NewClusterAdminFromClient(client)
	require.NoError(t, err)
	assert.Equal(t, "compact", topicConfig(t, admin, "created", "cleanup.policy"))
}

func TestSeveralBrokersShareTheWork(t *testing.T) {
	c := newCluster(t, WithBrokers(3))
	require.Len(t, c.Addrs(), 3)
	require.NoError(t, c.CreateTopic("spread", 6, nil))

	client, err := sarama.NewClient(c.Addrs(), libraryConfig())
	require.NoError(t, err)
	defer func() { assert.NoError(t, client.Close()) }()
	assert.Len(t, client.Brokers(), 3)
	leaders := make(map[int32]bool)
	for p := range int32(6) {
		leader, err := client.Leader("spread", p)
		require.NoError(t, err)
		leaders[leader.ID()] = true
	}
	assert.Greater(t, len(leaders), 1, "partitions led by more than one broker")
}

func TestRefusesVersionsKafka4Removed(t *testing.T) {
	describeV0 := func(c *Cluster) error {
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.Version = 0
		res := kmsg.NewDescribeConfigsRequestResource()
		res.ResourceType = kmsg.ConfigResourceTypeTopic
		res.ResourceName = "topic"
		req.Resources = append(req.Resources, res)
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_, err := roundTrip(ctx, c.Addrs()[0], req)
		return err
	}

	strict := newCluster(t, WithSeedTopics(1, "topic"))
	assert.Error(t, describeV0(strict), "the connection is closed")
	assert.Equal(t, []string{"DescribeConfigs v0 (kafka 4.0 accepts v1 and later)"}, strict.RefusedRequests())

	legacy := newCluster(t, WithSeedTopics(1, "topic"), WithLegacyProtocols())
	assert.NoError(t, describeV0(legacy))
	assert.Empty(t, legacy.RefusedRequests())
}

func TestCompactKeepsTheLatestValuePerKey(t *testing.T) {
	c := newCluster(t)
	require.NoError(t, c.CreateTopic("table", 1, map[string]string{"cleanup.policy": "compact"}))
	cfg := libraryConfig()
	producer, err := sarama.NewSyncProducer(c.Addrs(), cfg)
	require.NoError(t, err)
	// One batch each: kfake never compacts the last batch, as Kafka never
	// compacts the active segment.
	for _, kv := range [][2]string{{"k", "1"}, {"k", "2"}, {"k", "3"}, {"other", "x"}} {
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "table", Key: sarama.StringEncoder(kv[0]), Value: sarama.StringEncoder(kv[1])})
		require.NoError(t, err)
	}
	require.NoError(t, producer.Close())

	c.Compact()

	consumer, err := sarama.NewConsumer(c.Addrs(), cfg)
	require.NoError(t, err)
	defer func() { assert.NoError(t, consumer.Close()) }()
	pc, err := consumer.ConsumePartition("table", 0, sarama.OffsetOldest)
	require.NoError(t, err)
	defer func() { assert.NoError(t, pc.Close()) }()
	var got []string
	for len(got) < 2 {
		select {
		case m := <-pc.Messages():
			got = append(got, string(m.Key)+"="+string(m.Value)+"@"+strconv.FormatInt(m.Offset, 10))
		case <-time.After(waitTimeout):
			t.Fatalf("read only %v", got)
		}
	}
	assert.Equal(t, []string{"k=3@2", "other=x@3"}, got)
}

// topics lists a cluster's topics through a raw metadata request.
func topics(t *testing.T, c *Cluster) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 4 // nil topics: all of them
	resp, err := roundTrip(ctx, c.Addrs()[0], req)
	require.NoError(t, err)
	var names []string
	for _, topic := range resp.(*kmsg.MetadataResponse).Topics {
		names = append(names, *topic.Topic)
	}
	return names
}
