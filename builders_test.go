package goka

import (
	"hash"
	"reflect"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProducerBuilderWithConfigLeavesConfigUnchanged(t *testing.T) {
	const topic = "events"
	cluster := newKafkaCluster(t, 4, topic)
	config := fastProducerConfig()
	config.ClientID = "mine"
	partitioner := config.Producer.Partitioner

	// Every key hashes to 6, so it lands in partition 6 % 4 = 2: the hasher
	// given to the builder decides the partition.
	hasher := func() hash.Hash32 { return fixedHash(6) }
	p, err := ProducerBuilderWithConfig(config)(cluster.Addrs(), "builder-client", hasher)
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close()) }()

	msg, err := waitPromise(t, p.Emit(topic, "any key", []byte("v")))
	require.NoError(t, err)
	assert.Equal(t, int32(2), msg.Partition)

	assert.Equal(t, "mine", config.ClientID)
	assert.Equal(t, funcPointer(partitioner), funcPointer(config.Producer.Partitioner))
}

func TestDefaultProducerBuilderUsesGlobalConfig(t *testing.T) {
	saved := globalConfig()
	defer ReplaceGlobalConfig(saved)

	config := DefaultConfig()
	config.Producer.Return.Successes = false
	ReplaceGlobalConfig(config)
	_, err := DefaultProducerBuilder([]string{"127.0.0.1:1"}, "client", DefaultHasher())
	require.ErrorIs(t, err, errProducerReturns)
}

func TestDefaultProducerBuilderPartitionsWithHasher(t *testing.T) {
	const topic, partitions = "events", 10
	cluster := newKafkaCluster(t, partitions, topic)
	saved := globalConfig()
	defer ReplaceGlobalConfig(saved)
	ReplaceGlobalConfig(fastProducerConfig())

	p, err := DefaultProducerBuilder(cluster.Addrs(), "client", nil)
	require.NoError(t, err, "a nil hasher means the default one")
	defer func() { require.NoError(t, p.Close()) }()
	for _, key := range []string{"0", "02", "key1", "key2", "user-0", ""} {
		msg, err := waitPromise(t, p.Emit(topic, key, []byte("v")))
		require.NoError(t, err)
		want, err := hashPartition(DefaultHasher(), key, partitions)
		require.NoError(t, err)
		assert.Equal(t, want, msg.Partition, "key %q", key)
	}
}

func TestBuildersRejectNilConfig(t *testing.T) {
	brokers := []string{"127.0.0.1:1"}
	_, err := ProducerBuilderWithConfig(nil)(brokers, "c", DefaultHasher())
	assert.ErrorIs(t, err, errNilConfig)
	_, err = ConsumerGroupBuilderWithConfig(nil)(brokers, "g", "c")
	assert.ErrorIs(t, err, errNilConfig)
	_, err = SaramaConsumerBuilderWithConfig(nil)(brokers, "c")
	assert.ErrorIs(t, err, errNilConfig)
	_, err = TopicManagerBuilderWithConfig(nil, NewTopicManagerConfig())(brokers)
	assert.ErrorIs(t, err, errNilConfig)
}

func TestConsumerBuilders(t *testing.T) {
	cluster := newKafkaCluster(t, 1, "events")
	config := DefaultConfig()
	config.ClientID = "mine"

	group, err := ConsumerGroupBuilderWithConfig(config)(cluster.Addrs(), "group", "group-client")
	require.NoError(t, err)
	require.NoError(t, group.Close())

	consumer, err := SaramaConsumerBuilderWithConfig(config)(cluster.Addrs(), "consumer-client")
	require.NoError(t, err)
	partitions, err := consumer.Partitions("events")
	require.NoError(t, err)
	assert.Equal(t, []int32{0}, partitions)
	require.NoError(t, consumer.Close())

	assert.Equal(t, "mine", config.ClientID, "the builders copy the config")

	group, err = DefaultConsumerGroupBuilder(cluster.Addrs(), "group", "group-client")
	require.NoError(t, err)
	require.NoError(t, group.Close())
	consumer, err = DefaultSaramaConsumerBuilder(cluster.Addrs(), "consumer-client")
	require.NoError(t, err)
	require.NoError(t, consumer.Close())
}

func TestTopicManagerBuilders(t *testing.T) {
	cluster := newKafkaCluster(t, 3, "events")
	config := DefaultConfig()
	config.ClientID = "mine"

	builders := map[string]TopicManagerBuilder{
		"default":             DefaultTopicManagerBuilder,
		"with config":         TopicManagerBuilderWithConfig(config, NewTopicManagerConfig()),
		"with manager config": TopicManagerBuilderWithTopicManagerConfig(NewTopicManagerConfig()),
	}
	for name, build := range builders {
		t.Run(name, func(t *testing.T) {
			tm, err := build(cluster.Addrs())
			require.NoError(t, err)
			partitions, err := tm.Partitions("events")
			require.NoError(t, err)
			assert.Equal(t, []int32{0, 1, 2}, partitions)
			require.NoError(t, tm.Close())
		})
	}
	assert.Equal(t, "mine", config.ClientID)
}

// funcPointer identifies a function value, which == cannot compare.
func funcPointer(f sarama.PartitionerConstructor) uintptr {
	return reflect.ValueOf(f).Pointer()
}
