package goka

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/stretchr/testify/require"
)

// kafkaWait bounds every wait on the embedded broker. It answers in
// milliseconds, so reaching the bound means something is broken.
const kafkaWait = 20 * time.Second

// newKafkaCluster starts an embedded broker for one test, seeded with topics
// of the given partition count, and closes it when the test ends.
func newKafkaCluster(t *testing.T, partitions int32, topics ...string) *kafkatest.Cluster {
	t.Helper()
	opts := []kafkatest.Option{}
	if len(topics) > 0 {
		opts = append(opts, kafkatest.WithSeedTopics(partitions, topics...))
	}
	cluster, err := kafkatest.NewCluster(opts...)
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	return cluster
}

// fastProducerConfig is DefaultConfig with a short flush interval, so tests
// do not wait for batches to fill.
func fastProducerConfig() *sarama.Config {
	config := DefaultConfig()
	config.Producer.Flush.Frequency = 5 * time.Millisecond
	return config
}

// failFastProducerConfig gives up on a message after one quick retry, for
// tests that expect a send to fail.
func failFastProducerConfig() *sarama.Config {
	config := fastProducerConfig()
	config.Producer.Retry.Max = 1
	config.Producer.Retry.Backoff = 10 * time.Millisecond
	config.Metadata.Retry.Max = 1
	config.Metadata.Retry.Backoff = 10 * time.Millisecond
	return config
}

// readPartition returns every record of a partition, read with a plain
// sarama consumer from the oldest offset to the end.
func readPartition(t *testing.T, addrs []string, topic string, partition int32) []*sarama.ConsumerMessage {
	t.Helper()
	config := DefaultConfig()
	// Closing waits for the fetch in flight, which the broker holds for
	// this long when there is nothing new.
	config.Consumer.MaxWaitTime = 10 * time.Millisecond
	client, err := sarama.NewClient(addrs, config)
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close()) }()

	end, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
	require.NoError(t, err)
	if end == 0 {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	defer func() { require.NoError(t, consumer.Close()) }()
	pc, err := consumer.ConsumePartition(topic, partition, sarama.OffsetOldest)
	require.NoError(t, err)
	defer func() { require.NoError(t, pc.Close()) }()

	var records []*sarama.ConsumerMessage
	deadline := time.After(kafkaWait)
	for {
		select {
		case msg := <-pc.Messages():
			records = append(records, msg)
			if msg.Offset >= end-1 {
				return records
			}
		case err := <-pc.Errors():
			require.NoError(t, err)
		case <-deadline:
			t.Fatalf("reading %s/%d: got %d records before the deadline, want up to offset %d", topic, partition, len(records), end-1)
		}
	}
}

// waitPromise waits for a promise and returns what it finished with.
func waitPromise(t *testing.T, p *Promise) (*sarama.ProducerMessage, error) {
	t.Helper()
	type result struct {
		msg *sarama.ProducerMessage
		err error
	}
	done := make(chan result, 1)
	p.ThenWithMessage(func(msg *sarama.ProducerMessage, err error) { done <- result{msg, err} })
	select {
	case r := <-done:
		return r.msg, r.err
	case <-time.After(kafkaWait):
		t.Fatal("promise did not finish")
		return nil, nil
	}
}
