package goka

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commitOffset commits offset for group on a topic partition, as a
// processor that stopped there would have.
func (e *procEnv) commitOffset(group, topic string, partition int32, offset int64) {
	e.t.Helper()
	admin, err := sarama.NewClusterAdmin(e.brokers, e.config)
	require.NoError(e.t, err)
	defer func() { require.NoError(e.t, admin.Close()) }()
	_, err = admin.AlterConsumerGroupOffsets(group, map[string]map[int32]sarama.OffsetAndMetadata{
		topic: {partition: {Offset: offset}},
	}, nil)
	require.NoError(e.t, err)
	require.Equal(e.t, offset, e.committed(group, topic, partition))
}

// deleteRecordsBefore moves the log start of a topic partition to offset,
// as retention does when it deletes old segments.
func (e *procEnv) deleteRecordsBefore(topic string, partition int32, offset int64) {
	e.t.Helper()
	admin, err := sarama.NewClusterAdmin(e.brokers, e.config)
	require.NoError(e.t, err)
	defer func() { require.NoError(e.t, admin.Close()) }()
	require.NoError(e.t, admin.DeleteRecords(topic, map[int32]int64{partition: offset}))
}

// newestFirstOptions are processor options whose consumer group starts new
// groups at the newest offset, as DefaultConfig does.
func (e *procEnv) newestFirstOptions() []ProcessorOption {
	config := copyConfig(e.config)
	config.Consumer.Offsets.Initial = sarama.OffsetNewest
	return []ProcessorOption{WithConsumerGroupBuilder(ConsumerGroupBuilderWithConfig(config))}
}

// keyedOnce sends keyOf(from)..keyOf(to-1), one message each.
func (e *procEnv) keyedOnce(topic Stream, from, to int) {
	e.t.Helper()
	em := e.emitter(topic, new(codec.String))
	for k := from; k < to; k++ {
		_, err := em.Emit(keyOf(k), "x")
		require.NoError(e.t, err)
	}
	require.NoError(e.t, em.Finish())
}

// markUntilCounted sends key to topic until proc has counted it: a claim
// that starts at the newest offset resolves it only after the partition is
// ready, so a single marker could land before that and never be seen. Once
// a marker is counted, everything the processor was going to take from
// before its start was taken.
func (e *procEnv) markUntilCounted(proc *Processor, topic Stream, key string) {
	e.t.Helper()
	em := e.emitter(topic, new(codec.String))
	defer func() { require.NoError(e.t, em.Finish()) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		require.NoError(e.t, em.EmitSync(key, "marker"))
		for wait := time.Now().Add(200 * time.Millisecond); time.Now().Before(wait); {
			if v, err := proc.Get(key); err == nil && v != nil {
				return
			}
			select {
			case <-proc.Done():
				e.t.Fatalf("the processor stopped: %v", proc.Error())
			case <-time.After(10 * time.Millisecond):
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("marker %s never counted", key)
		}
	}
}

// TestOutOfRangeCommitResumesAtOldest commits offset 3 for a group, then
// deletes the records before offset 6 (a processor down longer than the
// input's retention): the processor, whose consumer group would start a new
// group at the newest offset, resumes at 6 and processes 6..9, logs the
// skip with topic, partition and both offsets, and counts it.
func TestOutOfRangeCommitResumesAtOldest(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("retained", 1)
	env.keyedOnce("retained", 0, 10)
	env.commitOffset("late", "retained", 0, 3)
	env.deleteRecordsBefore("retained", 0, 6)

	reg := prometheus.NewPedanticRegistry()
	rec := &recordingLogger{}
	gg := DefineGroup("late", Input("retained", new(codec.String), counter), Persist(new(codec.Int64)))
	proc := env.processor(gg, storage.MemoryBuilder(),
		append(env.newestFirstOptions(), WithMetrics(reg), WithLogger(rec))...)
	env.startReady(proc)
	env.markUntilCounted(proc, "retained", keyOf(10))

	want := map[string]int64{keyOf(6): 1, keyOf(7): 1, keyOf(8): 1, keyOf(9): 1}
	assert.True(t, hasCounts(proc, want), "the records still in the topic are processed")
	for k := 0; k < 6; k++ {
		v, err := proc.Get(keyOf(k))
		require.NoError(t, err)
		assert.Nil(t, v, "key %s was deleted before the processor ran", keyOf(k))
	}

	got, found := sampleSum(t, reg, "goka_processor_offset_resets_total",
		map[string]string{"group": "late", "topic": "retained", "partition": "0"})
	assert.True(t, found)
	assert.Equal(t, 1.0, got)

	var logged []string
	for _, line := range rec.taken() {
		if strings.Contains(line, "retained") && strings.Contains(line, "oldest") {
			logged = append(logged, line)
		}
	}
	require.Len(t, logged, 1, "one log line names the skip")
	assert.Contains(t, logged[0], "partition 0")
	assert.Contains(t, logged[0], "committed offset 3")
	assert.Contains(t, logged[0], "oldest offset 6")
}

// TestNewGroupStartsAsConfigured starts a group that never committed on a
// topic with records: it starts at the newest offset, as configured, and
// counts no reset.
func TestNewGroupStartsAsConfigured(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("fresh", 1)
	env.keyedOnce("fresh", 0, 5)
	env.deleteRecordsBefore("fresh", 0, 2)

	reg := prometheus.NewPedanticRegistry()
	gg := DefineGroup("newcomer", Input("fresh", new(codec.String), counter), Persist(new(codec.Int64)))
	proc := env.processor(gg, storage.MemoryBuilder(), append(env.newestFirstOptions(), WithMetrics(reg))...)
	env.startReady(proc)
	env.markUntilCounted(proc, "fresh", keyOf(5))
	for k := 0; k < 5; k++ {
		v, err := proc.Get(keyOf(k))
		require.NoError(t, err)
		assert.Nil(t, v, "a new group starts at the newest offset")
	}
	got, found := sampleSum(t, reg, "goka_processor_offset_resets_total", map[string]string{"group": "newcomer"})
	assert.True(t, found)
	assert.Equal(t, 0.0, got)
}

// TestInRangeCommitIsKept resumes a group at its committed offset when the
// records there are still in the topic.
func TestInRangeCommitIsKept(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("kept", 1)
	env.keyedOnce("kept", 0, 10)
	env.commitOffset("steady", "kept", 0, 7)
	env.deleteRecordsBefore("kept", 0, 4)

	reg := prometheus.NewPedanticRegistry()
	gg := DefineGroup("steady", Input("kept", new(codec.String), counter), Persist(new(codec.Int64)))
	proc := env.processor(gg, storage.MemoryBuilder(), append(env.newestFirstOptions(), WithMetrics(reg))...)
	env.startReady(proc)
	env.markUntilCounted(proc, "kept", keyOf(10))
	assert.True(t, hasCounts(proc, map[string]int64{keyOf(7): 1, keyOf(8): 1, keyOf(9): 1}))
	for k := 4; k < 7; k++ {
		v, err := proc.Get(keyOf(k))
		require.NoError(t, err)
		assert.Nil(t, v, "records before the committed offset are not processed again")
	}
	got, _ := sampleSum(t, reg, "goka_processor_offset_resets_total", map[string]string{"group": "steady"})
	assert.Equal(t, 0.0, got)
}

// TestFallingBehindRetentionWhileRunning holds a running processor on its
// first record while 49 more are written and retention (DeleteRecords)
// removes all but the last 10 of them: once released, its fetch falls out
// of the topic, the session ends, and the next one resumes at the oldest
// offset, counted, instead of at the newest.
func TestFallingBehindRetentionWhileRunning(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("outrun", 1)
	env.keyedOnce("outrun", 0, 1)

	gate := make(chan struct{})
	var once sync.Once
	held := make(chan struct{})
	cb := func(ctx Context, msg interface{}) {
		if ctx.Offset() == 0 {
			once.Do(func() { close(held) })
			<-gate
		}
		counter(ctx, msg)
	}
	config := copyConfig(env.config)
	config.Consumer.Offsets.Initial = sarama.OffsetNewest
	// Little read ahead, so the records written while the callback is held
	// are fetched only after it returns.
	config.ChannelBufferSize = 1
	config.Consumer.Fetch.Default = 1
	reg := prometheus.NewPedanticRegistry()
	env.commitOffset("outrun", "outrun", 0, 0)
	gg := DefineGroup("outrun", Input("outrun", new(codec.String), cb), Persist(new(codec.Int64)))
	proc := env.processor(gg, storage.MemoryBuilder(), WithMetrics(reg), WithPartitionChannelSize(1),
		WithConsumerGroupBuilder(ConsumerGroupBuilderWithConfig(config)))
	r := env.start(proc)
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the first record never reached the callback")
	}
	// One batch per record: a fetch returns at least a whole batch.
	em := env.emitter("outrun", new(codec.String))
	for k := 1; k < 50; k++ {
		require.NoError(t, em.EmitSync(keyOf(k), "x"))
	}
	require.NoError(t, em.Finish())
	env.deleteRecordsBefore("outrun", 0, 40)
	close(gate)

	want := make(map[string]int64)
	for k := 40; k < 50; k++ {
		want[keyOf(k)] = 1
	}
	eventually(t, "the records left in the topic counted", func() bool { return hasCounts(proc, want) })
	eventually(t, "the reset counted", func() bool {
		return metricIs(t, reg, "goka_processor_offset_resets_total", map[string]string{"group": "outrun"}, 1)
	})
	require.NoError(t, r.stop(t))
}

// TestCommitPastTheEndResumesAtOldest commits offset 100 on a partition
// that holds 5 records, as after the topic was recreated or its log was
// truncated: the group never saw these records, and it processes them from
// the oldest offset instead of skipping to the newest; the reset is logged
// and counted.
func TestCommitPastTheEndResumesAtOldest(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("recreated", 1)
	env.keyedOnce("recreated", 0, 5)
	env.commitOffset("reborn", "recreated", 0, 100)

	reg := prometheus.NewPedanticRegistry()
	rec := &recordingLogger{}
	gg := DefineGroup("reborn", Input("recreated", new(codec.String), counter), Persist(new(codec.Int64)))
	proc := env.processor(gg, storage.MemoryBuilder(),
		append(env.newestFirstOptions(), WithMetrics(reg), WithLogger(rec))...)
	env.startReady(proc)
	env.markUntilCounted(proc, "recreated", keyOf(5))
	assert.True(t, hasCounts(proc, uniformCounts(5, 1)), "the records in the topic are processed")

	got, _ := sampleSum(t, reg, "goka_processor_offset_resets_total", map[string]string{"group": "reborn", "topic": "recreated"})
	assert.Equal(t, 1.0, got)
	var logged []string
	for _, line := range rec.taken() {
		if strings.Contains(line, "recreated") && strings.Contains(line, "newest offset") {
			logged = append(logged, line)
		}
	}
	require.Len(t, logged, 1, "one log line names the reset")
	assert.Contains(t, logged[0], "partition 0")
	assert.Contains(t, logged[0], "committed offset 100")
	assert.Contains(t, logged[0], "newest offset 5")
	assert.Contains(t, logged[0], "oldest offset 0")
}
