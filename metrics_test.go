package goka

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleSum adds the values of the samples of metric name whose labels
// include match; histograms count their observations. found is false when
// no sample matched.
func sampleSum(t *testing.T, g prometheus.Gatherer, name string, match map[string]string) (sum float64, found bool) {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			labels := make(map[string]string)
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue samples
				}
			}
			found = true
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum, found
}

// metricIs reports whether the samples of name matching match add up to
// want, for eventually.
func metricIs(t *testing.T, g prometheus.Gatherer, name string, match map[string]string, want float64) bool {
	got, found := sampleSum(t, g, name, match)
	return found && got == want
}

// TestProcessorMetrics runs a counting processor that also emits, fed by an
// emitter, and a second, stateless group on the same registry: the counters
// equal what they did, the gauges settle at the end of the backlog.
func TestProcessorMetrics(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys, perKey = 4, 20, 5
	const total = keys * perKey
	env.createTopic("clicks", partitions)
	env.createTopic("echo", partitions)
	reg := prometheus.NewPedanticRegistry()

	em, err := NewEmitter(env.brokers, "clicks", new(codec.String),
		WithEmitterProducerBuilder(ProducerBuilderWithConfig(env.config)), WithEmitterMetrics(reg))
	require.NoError(t, err)
	for i := 0; i < perKey; i++ {
		for k := 0; k < keys; k++ {
			_, err := em.Emit(keyOf(k), "click")
			require.NoError(t, err)
		}
	}
	require.NoError(t, em.Finish())
	emitted := map[string]string{"topic": "clicks"}
	assert.True(t, metricIs(t, reg, "goka_emitter_messages_emitted_total", emitted, total))
	assert.True(t, metricIs(t, reg, "goka_emitter_emitted_bytes_total", emitted, total*5))
	assert.True(t, metricIs(t, reg, "goka_emitter_emit_duration_seconds", emitted, total))
	assert.True(t, metricIs(t, reg, "goka_emitter_errors_total", emitted, 0))

	counting := DefineGroup("metered",
		Input("clicks", new(codec.String), func(ctx Context, msg interface{}) {
			counter(ctx, msg)
			ctx.Emit("echo", ctx.Key(), msg)
		}),
		Output("echo", new(codec.String)),
		Persist(new(codec.Int64)))
	proc := env.processor(counting, storage.MemoryBuilder(), WithMetrics(reg))
	stateless := DefineGroup("watcher", Input("clicks", new(codec.String), func(Context, interface{}) {}))
	watcher := env.processor(stateless, storage.MemoryBuilder(), WithMetrics(reg))
	env.start(proc)
	env.start(watcher)

	want := uniformCounts(keys, perKey)
	eventually(t, "every key counted", func() bool { return hasCounts(proc, want) })
	metered := map[string]string{"group": "metered"}
	eventually(t, "the consumer lag settles at 0", func() bool {
		return metricIs(t, reg, "goka_processor_consumer_lag", metered, 0) &&
			metricIs(t, reg, "goka_processor_messages_consumed_total", map[string]string{"group": "watcher"}, total)
	})

	for _, check := range []struct {
		name  string
		match map[string]string
		want  float64
	}{
		{"goka_processor_messages_consumed_total", map[string]string{"group": "metered", "topic": "clicks"}, total},
		{"goka_processor_consumed_bytes_total", map[string]string{"group": "metered", "topic": "clicks"}, total * 5},
		{"goka_processor_messages_emitted_total", map[string]string{"group": "metered", "topic": "echo"}, total},
		{"goka_processor_messages_emitted_total", map[string]string{"group": "metered", "topic": "metered-table"}, total},
		{"goka_processor_callback_duration_seconds", map[string]string{"group": "metered", "topic": "clicks"}, total},
		{"goka_processor_partitions", map[string]string{"group": "metered", "mode": "active"}, partitions},
		{"goka_processor_partitions", map[string]string{"group": "metered", "mode": "passive"}, 0},
		{"goka_processor_table_recovery_progress", map[string]string{"group": "metered", "topic": "metered-table"}, partitions},
		{"goka_processor_rebalances_total", metered, 1},
		{"goka_processor_errors_total", metered, 0},
		{"goka_processor_messages_consumed_total", map[string]string{"group": "watcher", "topic": "clicks"}, total},
		{"goka_processor_partitions", map[string]string{"group": "watcher", "mode": "active"}, partitions},
	} {
		got, found := sampleSum(t, reg, check.name, check.match)
		assert.True(t, found, "%s %v", check.name, check.match)
		assert.Equal(t, check.want, got, "%s %v", check.name, check.match)
	}
	for p := 0; p < partitions; p++ {
		_, found := sampleSum(t, reg, "goka_processor_table_recovery_duration_seconds",
			map[string]string{"group": "metered", "partition": strconv.Itoa(p)})
		assert.True(t, found, "recovery duration of partition %d", p)
	}
}

// TestProcessorLagWhileBacklog holds the first message in its callback
// while the rest of a backlog waits: the lag gauge reports the backlog,
// read from the consumer's current high-water mark, and drops to zero once
// the callback lets go.
func TestProcessorLagWhileBacklog(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const backlog = 30
	env.createTopic("orders", 1)
	env.emitCounts("orders", backlog, 1, "order")

	release := make(chan struct{})
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(letGo) // runs before the processor's cleanup waits for Run
	entered := make(chan struct{}, backlog)
	gg := DefineGroup("slow", Input("orders", new(codec.String), func(ctx Context, msg interface{}) {
		entered <- struct{}{}
		<-release
	}))
	reg := prometheus.NewPedanticRegistry()
	proc := env.processor(gg, storage.MemoryBuilder(), WithMetrics(reg))
	env.start(proc)

	<-entered // the first message, offset 0, is in its callback
	lag := map[string]string{"group": "slow", "topic": "orders", "partition": "0"}
	eventually(t, "the lag shows the backlog", func() bool {
		return metricIs(t, reg, "goka_processor_consumer_lag", lag, backlog-1)
	})
	assert.Equal(t, int64(backlog-1), proc.Stats().Group[0].Input["orders"].OffsetLag, "the stats agree")
	// What an operator's curl of /metrics shows, served as the examples do.
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	assert.Contains(t, string(body), fmt.Sprintf(`goka_processor_consumer_lag{group="slow",partition="0",topic="orders"} %d`, backlog-1))

	letGo()
	eventually(t, "the lag drops to zero", func() bool {
		return metricIs(t, reg, "goka_processor_consumer_lag", lag, 0)
	})
	consumed, _ := sampleSum(t, reg, "goka_processor_messages_consumed_total", lag)
	assert.Equal(t, float64(backlog), consumed)
}

// TestProcessorErrorMetrics counts the error that stops each of two
// processors on one registry, by kind.
func TestProcessorErrorMetrics(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	env.emitSync("in", new(codec.String), "k", "hello")
	reg := prometheus.NewPedanticRegistry()

	failing := DefineGroup("fails", Input("in", new(codec.String), func(ctx Context, msg interface{}) { ctx.Fail(errBoom) }))
	emitting := DefineGroup("emit-fails",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) { ctx.Emit("missing", ctx.Key(), msg) }),
		Output("missing", new(codec.String)))
	r1 := env.start(env.processor(failing, storage.MemoryBuilder(), WithMetrics(reg)))
	r2 := env.start(env.processor(emitting, storage.MemoryBuilder(), WithMetrics(reg),
		WithProducerBuilder(ProducerBuilderWithConfig(failFastProducerConfig()))))
	require.ErrorIs(t, r1.wait(t), errBoom)
	require.Error(t, r2.wait(t))

	for _, check := range []struct {
		group, kind string
		want        float64
	}{
		{"fails", "processing", 1},
		{"fails", "emit", 0},
		{"emit-fails", "emit", 1},
		{"emit-fails", "processing", 0},
	} {
		got, found := sampleSum(t, reg, "goka_processor_errors_total", map[string]string{"group": check.group, "kind": check.kind})
		assert.True(t, found)
		assert.Equal(t, check.want, got, "%s %s", check.group, check.kind)
	}
	_, found := sampleSum(t, reg, "goka_processor_consumer_lag", nil)
	assert.False(t, found, "stopped partitions leave the gauges")
}

// TestViewMetrics follows a table with a view on a registry: the partition
// gauges show it recovered and the records it applied.
func TestViewMetrics(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys = 2, 10
	env.createTopic("prices", partitions)
	env.emitCounts("prices", keys, 1, "1")
	reg := prometheus.NewPedanticRegistry()

	v, err := NewView(env.brokers, "prices", new(codec.String),
		env.viewOptions(storage.MemoryBuilder(), WithViewMetrics(reg))...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
		_, found := sampleSum(t, reg, "goka_view_partition_state", nil)
		assert.False(t, found, "a view that stopped leaves the gauges")
	}()
	require.NoError(t, v.WaitRecovered(ctx))

	prices := map[string]string{"topic": "prices"}
	eventually(t, "every record applied", func() bool {
		return metricIs(t, reg, "goka_view_messages_consumed_total", prices, keys)
	})
	for _, check := range []struct {
		name string
		want float64
	}{
		{"goka_view_partition_state", float64(PartitionRunning) * partitions},
		{"goka_view_partition_lag", 0},
		{"goka_view_recovery_progress", partitions},
		{"goka_view_consumed_bytes_total", keys},
	} {
		got, found := sampleSum(t, reg, check.name, prices)
		assert.True(t, found, check.name)
		assert.Equal(t, check.want, got, check.name)
	}
	_, found := sampleSum(t, reg, "goka_view_recovery_duration_seconds", map[string]string{"topic": "prices", "partition": "1"})
	assert.True(t, found)
}

// syncBuffer is a bytes.Buffer that goroutines may write while a test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestComponentLogFields: the loggers of a processor, its partitions, its
// tables and a view carry group, topic and partition as slog attributes.
func TestComponentLogFields(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 2)
	env.createTopic("tbl", 2)
	var out syncBuffer
	structured := NewSlogLogger(slog.New(slog.NewJSONHandler(&out, nil)))

	gg := DefineGroup("fields", Input("in", new(codec.String), counter), Persist(new(codec.Int64)))
	proc, err := NewProcessor(env.brokers, gg, env.options(storage.MemoryBuilder(), WithLogger(structured))...)
	require.NoError(t, err)
	proc.partitionLog(1).Printf("from the partition")
	v, err := NewView(env.brokers, "tbl", new(codec.String), env.viewOptions(storage.MemoryBuilder(), WithViewLogger(structured))...)
	require.NoError(t, err)
	v.log.Printf("from the view")

	var buf bytes.Buffer
	buf.WriteString(out.String())
	records := jsonLines(t, &buf)
	require.Len(t, records, 2)
	assert.Equal(t, "from the partition", records[0]["msg"])
	assert.Equal(t, "fields", records[0]["group"])
	assert.Equal(t, 1.0, records[0]["partition"])
	assert.True(t, strings.HasPrefix(records[0]["component"].(string), "Processor fields > PartitionProcessor (1)"))
	assert.Equal(t, "from the view", records[1]["msg"])
	assert.Equal(t, "tbl", records[1]["topic"])
	assert.Equal(t, "View tbl", records[1]["component"])
}
