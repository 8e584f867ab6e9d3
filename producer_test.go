package goka

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestProducer(t *testing.T, addrs []string, config *sarama.Config) Producer {
	t.Helper()
	p, err := NewProducer(addrs, config)
	require.NoError(t, err)
	return p
}

func TestProducerAckedOffsetsAreMonotonicPerPartition(t *testing.T) {
	const topic, partitions, messages = "events", 4, 400
	cluster := newKafkaCluster(t, partitions, topic)
	p := newTestProducer(t, cluster.Addrs(), fastProducerConfig())

	var (
		mu    sync.Mutex
		acked = make(map[int32][]int64)
		errs  []error
	)
	promises := make([]*Promise, 0, messages)
	for i := range messages {
		promise := p.Emit(topic, fmt.Sprintf("key-%d", i%37), []byte(fmt.Sprint(i)))
		promise.ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			acked[msg.Partition] = append(acked[msg.Partition], msg.Offset)
		})
		promises = append(promises, promise)
	}
	for _, promise := range promises {
		_, err := waitPromise(t, promise)
		require.NoError(t, err)
	}
	require.NoError(t, p.Close())

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, errs)
	total := 0
	for partition, offsets := range acked {
		// Acknowledged in offset order, and every offset of the partition
		// belongs to one of our messages.
		for i, offset := range offsets {
			require.Equal(t, int64(i), offset, "partition %d ack %d", partition, i)
		}
		total += len(offsets)
	}
	assert.Equal(t, messages, total)
	assert.Len(t, acked, partitions, "38 keys should reach every partition")
}

func TestProducerWritesKeyValueHeadersAndTombstones(t *testing.T) {
	const topic = "records"
	cluster := newKafkaCluster(t, 1, topic)
	p := newTestProducer(t, cluster.Addrs(), fastProducerConfig())

	_, err := waitPromise(t, p.Emit(topic, "plain", []byte("v1")))
	require.NoError(t, err)
	_, err = waitPromise(t, p.EmitWithHeaders(topic, "with-headers", []byte("v2"), Headers{"h": []byte("x")}))
	require.NoError(t, err)
	_, err = waitPromise(t, p.Emit(topic, "deleted", nil))
	require.NoError(t, err)
	_, err = waitPromise(t, p.Emit(topic, "empty", []byte{}))
	require.NoError(t, err)
	require.NoError(t, p.Close())

	records := readPartition(t, cluster.Addrs(), topic, 0)
	require.Len(t, records, 4)

	assert.Equal(t, "plain", string(records[0].Key))
	assert.Equal(t, "v1", string(records[0].Value))
	assert.Empty(t, records[0].Headers)
	assert.False(t, records[0].Timestamp.IsZero(), "sarama stamps the send time")

	assert.Equal(t, "v2", string(records[1].Value))
	assert.Equal(t, Headers{"h": []byte("x")}, HeadersFromSarama(records[1].Headers))

	assert.Equal(t, "deleted", string(records[2].Key))
	assert.Nil(t, records[2].Value, "a nil value is a tombstone")

	assert.Equal(t, "empty", string(records[3].Key))
	assert.NotNil(t, records[3].Value, "an empty value is not a tombstone")
	assert.Empty(t, records[3].Value)
}

func TestProducerRequiresReturnChannels(t *testing.T) {
	for _, off := range []string{"successes", "errors"} {
		t.Run(off, func(t *testing.T) {
			config := DefaultConfig()
			if off == "successes" {
				config.Producer.Return.Successes = false
			} else {
				config.Producer.Return.Errors = false
			}
			// No broker needed: the config is rejected before connecting.
			_, err := NewProducer([]string{"127.0.0.1:1"}, config)
			require.ErrorIs(t, err, errProducerReturns)
		})
	}
	_, err := NewProducer([]string{"127.0.0.1:1"}, nil)
	require.ErrorIs(t, err, errNilConfig)
}

func TestProducerUnreachableBroker(t *testing.T) {
	config := failFastProducerConfig()
	_, err := NewProducer([]string{"127.0.0.1:1"}, config)
	require.ErrorIs(t, err, sarama.ErrOutOfBrokers)
}

func TestProducerErrorsSettlePromises(t *testing.T) {
	cluster := newKafkaCluster(t, 1, "exists")
	p := newTestProducer(t, cluster.Addrs(), failFastProducerConfig())

	_, err := waitPromise(t, p.Emit("missing", "key", []byte("v")))
	require.ErrorIs(t, err, sarama.ErrUnknownTopicOrPartition)
	assert.Contains(t, err.Error(), "missing", "the error names the topic")

	// The producer still works for topics that exist.
	_, err = waitPromise(t, p.Emit("exists", "key", []byte("v")))
	require.NoError(t, err)
	require.NoError(t, p.Close())
}

func TestProducerCloseSettlesEveryPromise(t *testing.T) {
	const topic, messages = "events", 2000
	cluster := newKafkaCluster(t, 3, topic)
	// A long flush interval: the messages are still buffered when Close
	// runs. sarama's shutdown waits for that timer before it flushes, so it
	// cannot be as long as kafkaWait.
	config := DefaultConfig()
	config.Producer.Flush.Frequency = 300 * time.Millisecond
	config.Producer.Flush.Bytes = 1 << 20
	p := newTestProducer(t, cluster.Addrs(), config)

	var mu sync.Mutex
	settled := make(map[int]int)
	for i := range messages {
		p.Emit(topic, fmt.Sprint(i), []byte("v")).Then(func(err error) {
			assert.NoError(t, err)
			mu.Lock()
			settled[i]++
			mu.Unlock()
		})
	}
	require.NoError(t, p.Close())

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, settled, messages, "every promise finished when Close returned")
	for i, n := range settled {
		require.Equal(t, 1, n, "promise %d finished %d times", i, n)
	}
}

func TestProducerEmitAfterClose(t *testing.T) {
	cluster := newKafkaCluster(t, 1, "events")
	p := newTestProducer(t, cluster.Addrs(), fastProducerConfig())
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close is idempotent")

	msg, err := waitPromise(t, p.EmitWithHeaders("events", "key", []byte("v"), Headers{"h": nil}))
	require.ErrorIs(t, err, errProducerClosed)
	require.NotNil(t, msg)
	assert.Equal(t, "events", msg.Topic)
}

func TestProducerEmitConcurrentWithClose(t *testing.T) {
	const topic = "events"
	cluster := newKafkaCluster(t, 2, topic)
	p := newTestProducer(t, cluster.Addrs(), fastProducerConfig())

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		emitted int
		settled int
		other   []error
	)
	start := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			<-start
			for i := range 200 {
				promise := p.Emit(topic, fmt.Sprintf("%d-%d", g, i), []byte("v"))
				mu.Lock()
				emitted++
				mu.Unlock()
				promise.Then(func(err error) {
					mu.Lock()
					defer mu.Unlock()
					settled++
					if err != nil && !errors.Is(err, errProducerClosed) {
						other = append(other, err)
					}
				})
			}
		})
	}
	close(start)
	require.NoError(t, p.Close())
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, emitted, settled, "every promise finished")
	assert.Empty(t, other)
}

func TestProducerCloseReturnsErrorsOfMessagesRefusedWhileClosing(t *testing.T) {
	cluster := newKafkaCluster(t, 1, "exists")
	// The refusal comes only after a metadata retry half a second later, so
	// Close, called right after the emits, is already running by then.
	config := failFastProducerConfig()
	config.Metadata.Retry.Backoff = 500 * time.Millisecond
	p := newTestProducer(t, cluster.Addrs(), config)

	first := p.Emit("missing", "a", []byte("v"))
	second := p.Emit("missing", "b", []byte("v"))
	err := p.Close()
	require.ErrorIs(t, err, sarama.ErrUnknownTopicOrPartition)
	assert.Contains(t, err.Error(), "2 messages not delivered")

	for _, promise := range []*Promise{first, second} {
		_, err := waitPromise(t, promise)
		require.ErrorIs(t, err, sarama.ErrUnknownTopicOrPartition)
	}
}
