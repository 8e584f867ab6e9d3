package systemtest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/systemtest"
)

// TestCompaction checks the broker settings scripts/kafka.sh writes for tests
// that depend on compaction: with 1 MiB segments and a cleaner that looks
// every second, overwritten keys disappear within seconds, not hours.
func TestCompaction(t *testing.T) {
	brokers := systemtest.Brokers(t)
	cfg := systemtest.NewConfig()

	client, err := sarama.NewClient(brokers, cfg)
	require.NoError(t, err)
	defer func() { assert.NoError(t, client.Close()) }()
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	require.NoError(t, err)
	defer func() { assert.NoError(t, admin.Close()) }()

	topic := systemtest.UniqueName(t, "compaction")
	compact := "compact"
	require.NoError(t, admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions:     1,
		ReplicationFactor: 1,
		ConfigEntries:     map[string]*string{"cleanup.policy": &compact},
	}, false))
	defer func() { assert.NoError(t, admin.DeleteTopic(topic)) }()

	// 3 MiB over 10 keys: three segments, two of them closed and so cleanable.
	const keys, messages, batch = 10, 3000, 300
	value := sarama.StringEncoder(strings.Repeat("v", 1024))
	producer, err := sarama.NewSyncProducerFromClient(client)
	require.NoError(t, err)
	defer func() { assert.NoError(t, producer.Close()) }()
	for sent := 0; sent < messages; sent += batch {
		msgs := make([]*sarama.ProducerMessage, 0, batch)
		for i := sent; i < sent+batch; i++ {
			msgs = append(msgs, &sarama.ProducerMessage{
				Topic: topic,
				Key:   sarama.StringEncoder(fmt.Sprintf("key-%d", i%keys)),
				Value: value,
			})
		}
		require.NoError(t, producer.SendMessages(msgs))
	}
	end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	require.NoError(t, err)
	require.EqualValues(t, messages, end)

	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	defer func() { assert.NoError(t, consumer.Close()) }()

	start := time.Now()
	var remaining int
	var lastErr error
	require.Eventually(t, func() bool {
		remaining, lastErr = countUpTo(consumer, topic, end)
		return lastErr == nil && remaining < messages/2
	}, 60*time.Second, 500*time.Millisecond, "the cleaner did not compact %s: %d messages left, last error %v", topic, remaining, lastErr)
	t.Logf("compacted %d messages to %d in %s", messages, remaining, time.Since(start))
}

// countUpTo reads partition 0 of topic from its oldest offset to end and
// returns how many messages it holds. It runs in require.Eventually's
// goroutine, so it reports failures as errors rather than through t.
func countUpTo(consumer sarama.Consumer, topic string, end int64) (count int, err error) {
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		return 0, fmt.Errorf("consume %s: %w", topic, err)
	}
	defer func() { err = errors.Join(err, pc.Close()) }()
	timeout := time.NewTimer(smokeDeadline)
	defer timeout.Stop()
	for {
		select {
		case msg := <-pc.Messages():
			count++
			if msg.Offset >= end-1 {
				return count, nil
			}
		case err := <-pc.Errors():
			return count, fmt.Errorf("consume %s: %w", topic, err)
		case <-timeout.C:
			return count, fmt.Errorf("consume %s: %d messages read by %s: %w", topic, count, smokeDeadline, errReadTimeout)
		}
	}
}

// errReadTimeout means a partition was not read to its end in time.
var errReadTimeout = errors.New("read timed out")
