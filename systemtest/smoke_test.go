package systemtest_test

import (
	"os"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/systemtest"
)

// smokeDeadline bounds every wait of the smoke test; a healthy local broker
// answers in milliseconds.
const smokeDeadline = 30 * time.Second

// TestSmoke checks that the broker is what the system tests assume: Kafka 4.x,
// one node, no topic auto-creation, compacted topics honoured, and that a
// message makes the round trip through it.
func TestSmoke(t *testing.T) {
	brokers := systemtest.Brokers(t)
	cfg := systemtest.NewConfig()

	client, err := sarama.NewClient(brokers, cfg)
	require.NoError(t, err)
	defer func() { assert.NoError(t, client.Close()) }()
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	require.NoError(t, err)
	defer func() { assert.NoError(t, admin.Close()) }()

	requireKafka4(t, client)

	t.Run("single node", func(t *testing.T) {
		assert.Len(t, client.Brokers(), 1)
		missing := systemtest.UniqueName(t, "missing")
		err := admin.CreateTopic(missing, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 2}, false)
		require.ErrorIs(t, err, sarama.ErrInvalidReplicationFactor)
	})

	t.Run("no auto-creation", func(t *testing.T) {
		missing := systemtest.UniqueName(t, "missing")
		_, err := client.Partitions(missing)
		require.ErrorIs(t, err, sarama.ErrUnknownTopicOrPartition)
		topics, err := admin.ListTopics()
		require.NoError(t, err)
		assert.NotContains(t, topics, missing)
	})

	topic := systemtest.UniqueName(t, "smoke")
	compact := "compact"
	require.NoError(t, admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions:     2,
		ReplicationFactor: 1,
		ConfigEntries:     map[string]*string{"cleanup.policy": &compact},
	}, false))
	defer func() { assert.NoError(t, admin.DeleteTopic(topic)) }()
	// A new topic reaches the broker's metadata cache a moment after
	// CreateTopics returns; until then DescribeConfigs answers
	// UNKNOWN_TOPIC_OR_PARTITION and producers find no leader.
	require.Eventually(t, func() bool {
		if err := client.RefreshMetadata(topic); err != nil {
			return false
		}
		for _, p := range []int32{0, 1} {
			if _, err := client.Leader(topic, p); err != nil {
				return false
			}
		}
		return true
	}, smokeDeadline, 50*time.Millisecond)

	t.Run("compacted topic", func(t *testing.T) {
		results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{
			Type:        sarama.TopicResource,
			Name:        topic,
			ConfigNames: []string{"cleanup.policy"},
		}}, sarama.DescribeConfigsOptions{})
		require.NoError(t, err)
		require.Len(t, results, 1)
		require.Zero(t, results[0].ErrorCode, results[0].ErrorMsg)
		require.Len(t, results[0].Configs, 1)
		assert.Equal(t, "cleanup.policy", results[0].Configs[0].Name)
		assert.Equal(t, "compact", results[0].Configs[0].Value)

		metas, err := admin.DescribeTopics([]string{topic})
		require.NoError(t, err)
		require.Len(t, metas, 1)
		require.Equal(t, sarama.ErrNoError, metas[0].Err)
		require.Len(t, metas[0].Partitions, 2)
		for _, p := range metas[0].Partitions {
			assert.Len(t, p.Replicas, 1, "partition %d", p.ID)
		}
	})

	t.Run("produce and consume", func(t *testing.T) {
		producer, err := sarama.NewSyncProducerFromClient(client)
		require.NoError(t, err)
		defer func() { assert.NoError(t, producer.Close()) }()
		partition, offset, err := producer.SendMessage(&sarama.ProducerMessage{
			Topic: topic,
			Key:   sarama.StringEncoder("key"),
			Value: sarama.StringEncoder("value"),
		})
		require.NoError(t, err)
		assert.Zero(t, offset, "first message of a new topic")

		consumer, err := sarama.NewConsumerFromClient(client)
		require.NoError(t, err)
		defer func() { assert.NoError(t, consumer.Close()) }()
		pc, err := consumer.ConsumePartition(topic, partition, sarama.OffsetOldest)
		require.NoError(t, err)
		defer func() { assert.NoError(t, pc.Close()) }()

		select {
		case msg := <-pc.Messages():
			assert.Equal(t, "key", string(msg.Key))
			assert.Equal(t, "value", string(msg.Value))
			assert.Equal(t, offset, msg.Offset)
		case err := <-pc.Errors():
			require.NoError(t, err)
		case <-time.After(smokeDeadline):
			require.Fail(t, "no message consumed", "within %s", smokeDeadline)
		}
	})
}

// requireKafka4 fails unless the broker refuses the request versions that
// Kafka 4.0 removed (KIP-896): older brokers still accept them.
func requireKafka4(t *testing.T, client sarama.Client) {
	t.Helper()
	require.NotEmpty(t, client.Brokers())
	broker := client.Brokers()[0]
	if err := broker.Open(client.Config()); err != nil {
		require.ErrorIs(t, err, sarama.ErrAlreadyConnected)
	}
	resp, err := broker.ApiVersions(&sarama.ApiVersionsRequest{
		Version:               3,
		ClientSoftwareName:    "goka-systemtest",
		ClientSoftwareVersion: "1",
	})
	require.NoError(t, err)
	require.Zero(t, resp.ErrorCode)

	minVersions := map[int16]int16{}
	for _, k := range resp.ApiKeys {
		minVersions[k.ApiKey] = k.MinVersion
	}
	// Produce is left out: Kafka 4 advertises Produce from v0 again for old
	// clients' sake while still refusing v0-v2.
	floors := []struct {
		name string
		key  int16
		min  int16
	}{
		{name: "Fetch", key: 1, min: 4},
		{name: "ListOffsets", key: 2, min: 1},
		{name: "CreateTopics", key: 19, min: 2},
		{name: "OffsetForLeaderEpoch", key: 23, min: 2},
	}
	for _, f := range floors {
		require.Contains(t, minVersions, f.key, f.name)
		assert.GreaterOrEqual(t, minVersions[f.key], f.min, "%s floor of Kafka 4", f.name)
	}
	for _, f := range resp.FinalizedFeatures {
		t.Logf("finalized feature %s: level %d", f.Name, f.MaxVersionLevel)
	}
	if v := os.Getenv("KAFKA_VERSION"); v != "" {
		t.Logf("KAFKA_VERSION=%s", v)
	}
}
