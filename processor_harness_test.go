package goka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/require"
)

// procEnv is one embedded broker and the options that make processors,
// views and emitters on it fast and isolated from the global config.
type procEnv struct {
	t        *testing.T
	cluster  *kafkatest.Cluster
	brokers  []string
	config   *sarama.Config
	tmConfig *TopicManagerConfig
}

func newProcEnv(t *testing.T) *procEnv {
	t.Helper()
	cluster, err := kafkatest.NewCluster()
	require.NoError(t, err)
	t.Cleanup(cluster.Close)

	config, tmc := testBrokerConfig()
	return &procEnv{t: t, cluster: cluster, brokers: cluster.Addrs(), config: config, tmConfig: tmc}
}

// testBrokerConfig is newProcEnv's configuration: fast heartbeats and
// fetches, a short flush, and one replica for the single embedded broker.
func testBrokerConfig() (*sarama.Config, *TopicManagerConfig) {
	config := DefaultConfig()
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	config.Consumer.MaxWaitTime = 20 * time.Millisecond
	config.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	config.Producer.Flush.Frequency = 5 * time.Millisecond
	tmc := NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	return config, tmc
}

func (e *procEnv) createTopic(topic string, partitions int32) {
	e.t.Helper()
	require.NoError(e.t, e.cluster.CreateTopic(topic, partitions, nil))
}

// options returns processor options using e's configs and the given storage.
func (e *procEnv) options(sb storage.Builder, extra ...ProcessorOption) []ProcessorOption {
	opts := []ProcessorOption{
		WithStorageBuilder(sb),
		WithTopicManagerBuilder(TopicManagerBuilderWithConfig(e.config, e.tmConfig)),
		WithConsumerGroupBuilder(ConsumerGroupBuilderWithConfig(e.config)),
		WithConsumerSaramaBuilder(SaramaConsumerBuilderWithConfig(e.config)),
		WithProducerBuilder(ProducerBuilderWithConfig(e.config)),
		WithLogger(testLogger{e.t}),
	}
	return append(opts, extra...)
}

func (e *procEnv) viewOptions(sb storage.Builder, extra ...ViewOption) []ViewOption {
	opts := []ViewOption{
		WithViewStorageBuilder(sb),
		WithViewTopicManagerBuilder(TopicManagerBuilderWithConfig(e.config, e.tmConfig)),
		WithViewConsumerSaramaBuilder(SaramaConsumerBuilderWithConfig(e.config)),
		WithViewLogger(testLogger{e.t}),
	}
	return append(opts, extra...)
}

func (e *procEnv) emitter(topic Stream, c Codec) *Emitter {
	e.t.Helper()
	em, err := NewEmitter(e.brokers, topic, c, WithEmitterProducerBuilder(ProducerBuilderWithConfig(e.config)))
	require.NoError(e.t, err)
	return em
}

// running is a processor started in the background.
type running struct {
	proc   *Processor
	cancel context.CancelFunc
	done   chan error
}

func (e *procEnv) start(proc *Processor) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{proc: proc, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- proc.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			e.t.Error("processor did not stop")
		}
	})
	return r
}

// stop cancels the processor and returns Run's result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
		return nil
	}
}

// wait returns Run's result once it ended by itself.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-ticker.C
	}
}

type testLogger struct{ t *testing.T }

func (l testLogger) Print(v ...interface{})                 { l.t.Log(v...) }
func (l testLogger) Println(v ...interface{})               { l.t.Log(v...) }
func (l testLogger) Printf(format string, v ...interface{}) { l.t.Logf(format, v...) }

// counter is a callback that counts messages per key.
func counter(ctx Context, msg interface{}) {
	var n int64
	if v := ctx.Value(); v != nil {
		n = v.(int64)
	}
	ctx.SetValue(n + 1)
}

func keyOf(i int) string { return fmt.Sprintf("key-%03d", i) }

// processor builds a processor of gg on e with the given storage.
func (e *procEnv) processor(gg *GroupGraph, sb storage.Builder, extra ...ProcessorOption) *Processor {
	e.t.Helper()
	proc, err := NewProcessor(e.brokers, gg, e.options(sb, extra...)...)
	require.NoError(e.t, err)
	return proc
}

// startReady starts proc and waits until every partition it was assigned
// is recovered.
func (e *procEnv) startReady(proc *Processor) *running {
	e.t.Helper()
	r := e.start(proc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(e.t, proc.WaitForReadyContext(ctx))
	return r
}

// emitCounts sends perKey messages with value to each of keys keys
// (interleaved, keyOf(0)..keyOf(keys-1)) and waits for every ack.
func (e *procEnv) emitCounts(topic Stream, keys, perKey int, value string) {
	e.t.Helper()
	em := e.emitter(topic, new(codec.String))
	for i := 0; i < perKey; i++ {
		for k := 0; k < keys; k++ {
			_, err := em.Emit(keyOf(k), value)
			require.NoError(e.t, err)
		}
	}
	require.NoError(e.t, em.Finish())
}

// emitSync sends one message and waits for its ack.
func (e *procEnv) emitSync(topic Stream, c Codec, key string, value interface{}) {
	e.t.Helper()
	em := e.emitter(topic, c)
	defer func() { require.NoError(e.t, em.Finish()) }()
	require.NoError(e.t, em.EmitSync(key, value))
}

// committed returns the offset the group committed for a topic partition,
// -1 when none, read with a cluster admin as an operator would.
func (e *procEnv) committed(group, topic string, partition int32) int64 {
	e.t.Helper()
	admin, err := sarama.NewClusterAdmin(e.brokers, e.config)
	require.NoError(e.t, err)
	defer func() { require.NoError(e.t, admin.Close()) }()
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {partition}})
	require.NoError(e.t, err)
	block := resp.GetBlock(topic, partition)
	if block == nil {
		return -1
	}
	require.ErrorIs(e.t, block.Err, sarama.ErrNoError)
	return block.Offset
}

// partitionOf returns the partition of key in a topic of n partitions.
func partitionOf(t *testing.T, key string, n int32) int32 {
	t.Helper()
	p, err := hashPartition(DefaultHasher(), key, n)
	require.NoError(t, err)
	return p
}

// hasCounts reports whether proc's table holds want[key] for every key.
func hasCounts(proc *Processor, want map[string]int64) bool {
	for key, n := range want {
		v, err := proc.Get(key)
		if err != nil || v == nil || v.(int64) != n {
			return false
		}
	}
	return true
}

// uniformCounts is want for keys keys counted n times each.
func uniformCounts(keys int, n int64) map[string]int64 {
	want := make(map[string]int64, keys)
	for k := 0; k < keys; k++ {
		want[keyOf(k)] = n
	}
	return want
}

// newestOffset returns the high-water mark of a topic partition.
func (e *procEnv) newestOffset(topic string, partition int32) int64 {
	e.t.Helper()
	client, err := sarama.NewClient(e.brokers, e.config)
	require.NoError(e.t, err)
	defer func() { require.NoError(e.t, client.Close()) }()
	offset, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
	require.NoError(e.t, err)
	return offset
}
