package goka

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
)

// restoreGate is a storage builder whose stores count the restores running
// between their first batch and the batch of their last record (at offset
// last), and hold each at its first batch until the test lets it go.
type restoreGate struct {
	last   int64
	mu     sync.Mutex
	active map[string]bool
	done   map[string]bool
	most   int
	gates  map[string]chan struct{}
	abort  chan struct{} // lets every restore go at the end of the test
}

func newRestoreGate(t *testing.T, last int64) *restoreGate {
	g := &restoreGate{last: last, active: make(map[string]bool), done: make(map[string]bool), gates: make(map[string]chan struct{}), abort: make(chan struct{})}
	t.Cleanup(func() { close(g.abort) })
	return g
}

func (g *restoreGate) builder(inner storage.Builder) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		st, err := inner(topic, partition)
		if err != nil {
			return nil, err
		}
		return &gatedStore{Storage: st, g: g, name: fmt.Sprintf("%s/%d", topic, partition)}, nil
	}
}

func (g *restoreGate) enter(name string) {
	g.mu.Lock()
	if g.done[name] || g.active[name] {
		g.mu.Unlock()
		return
	}
	g.active[name] = true
	g.most = max(g.most, len(g.active))
	gate, ok := g.gates[name]
	if !ok {
		gate = make(chan struct{})
		g.gates[name] = gate
	}
	g.mu.Unlock()
	select {
	case <-gate:
	case <-g.abort:
	}
}

func (g *restoreGate) leave(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.active[name] {
		delete(g.active, name)
		g.done[name] = true
	}
}

// running returns the restores between their first batch and their end.
func (g *restoreGate) running() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var names []string
	for name := range g.active {
		names = append(names, name)
	}
	return names
}

func (g *restoreGate) peak() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most
}

func (g *restoreGate) finished() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.done)
}

func (g *restoreGate) release(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.gates[name])
}

// letThrough lets the restores go one by one, each time once as many as
// the limit allow are held, until n restores have ended, and checks that no
// more than limit ran at once.
func (g *restoreGate) letThrough(t *testing.T, n, limit int) {
	t.Helper()
	for g.finished() < n {
		want := min(limit, n-g.finished())
		eventually(t, fmt.Sprintf("%d restores running, %d finished", want, g.finished()), func() bool {
			return len(g.running()) == want
		})
		require.LessOrEqual(t, g.peak(), limit, "restores running at once")
		g.release(g.running()[0])
		left := n - g.finished()
		eventually(t, "a restore to end", func() bool { return n-g.finished() < left || len(g.running()) < want })
	}
	assert.Equal(t, limit, g.peak(), "the limit was reached, never exceeded")
}

type gatedStore struct {
	storage.Storage
	g    *restoreGate
	name string
}

func (s *gatedStore) WriteBatch(b *storage.Batch) error {
	s.g.enter(s.name)
	err := storage.WriteBatch(s.Storage, b)
	if offset, ok := b.Offset(); ok && offset >= s.g.last {
		s.g.leave(s.name)
	}
	return err
}

// perPartition is the number of keys fillTable writes to every partition of
// the table, once each.
const perPartition = 3

// fillTable runs a counting processor of group over topic "in" until every
// partition of its table holds perPartition keys, and returns the counts.
func fillTable(env *procEnv, group Group, partitions int32) map[string]int64 {
	t := env.t
	want := make(map[string]int64)
	em := env.emitter("in", new(codec.String))
	for p := int32(0); p < partitions; p++ {
		found := 0
		for i := 0; found < perPartition; i++ {
			if key := keyOf(i); partitionOf(t, key, partitions) == p {
				_, err := em.Emit(key, "x")
				require.NoError(t, err)
				want[key] = 1
				found++
			}
		}
	}
	require.NoError(t, em.Finish())
	proc := env.processor(DefineGroup(group, Input("in", new(codec.String), counter), Persist(new(codec.Int64))), storage.MemoryBuilder())
	r := env.startReady(proc)
	eventually(t, "the table filled", func() bool { return hasCounts(proc, want) })
	require.NoError(t, r.stop(t))
	return want
}

// TestRestoreConcurrencyBoundsTheRestores restores a six-partition group
// table with a limit of two, as assigned partitions, with WithRecoverAhead,
// with WithHotStandby beside another instance, and through a view: no more
// than two restores run at once, the others wait and then run, and every
// one ends.
func TestRestoreConcurrencyBoundsTheRestores(t *testing.T) {
	t.Parallel()
	const partitions, limit = 6, 2
	env := newProcEnv(t)
	env.createTopic("in", partitions)
	const group = "restore-limit"
	want := fillTable(env, group, partitions)
	gg := DefineGroup(group, Input("in", new(codec.String), counter), Persist(new(codec.Int64)))

	for _, tc := range []struct {
		name string
		opts []ProcessorOption
	}{
		{"assigned", nil},
		{"recover ahead", []ProcessorOption{WithRecoverAhead()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gate := newRestoreGate(t, perPartition-1)
			opts := append([]ProcessorOption{WithRestoreConcurrency(limit), withEveryRestoreLimited()}, tc.opts...)
			proc := env.processor(gg, gate.builder(storage.MemoryBuilder()), opts...)
			r := env.start(proc)
			gate.letThrough(t, partitions, limit)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, proc.WaitForReadyContext(ctx))
			assert.True(t, hasCounts(proc, want), "every partition restored")
			require.NoError(t, r.stop(t))
		})
	}

	t.Run("hot standby", func(t *testing.T) {
		// The other instance takes some partitions; this one restores
		// them as hot standby and the rest as assigned.
		other := env.startReady(env.processor(gg, storage.MemoryBuilder()))
		defer func() { require.NoError(t, other.stop(t)) }()
		gate := newRestoreGate(t, perPartition-1)
		var assigned atomic.Int32
		proc := env.processor(gg, gate.builder(storage.MemoryBuilder()), WithRestoreConcurrency(limit), withEveryRestoreLimited(), WithHotStandby(),
			WithRebalanceCallback(func(a Assignment) { assigned.Store(int32(len(a))) }))
		r := env.start(proc)
		gate.letThrough(t, partitions, limit)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, proc.WaitForReadyContext(ctx))
		assert.Less(t, assigned.Load(), int32(partitions), "some of the partitions restored are hot standby")
		require.NoError(t, r.stop(t))
	})

	t.Run("view", func(t *testing.T) {
		gate := newRestoreGate(t, perPartition-1)
		v, err := NewView(env.brokers, GroupTable(group), new(codec.Int64),
			env.viewOptions(gate.builder(storage.MemoryBuilder()), WithViewRestoreConcurrency(limit), withEveryViewRestoreLimited())...)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- v.Run(ctx) }()
		gate.letThrough(t, partitions, limit)
		eventually(t, "the view recovered", v.Recovered)
		for key, n := range want {
			got, err := v.Get(key)
			require.NoError(t, err)
			assert.Equal(t, n, got, key)
		}
		cancel()
		require.NoError(t, receive(t, done))
	})
}

// TestRowCacheBytesBoundsTheCache writes far more distinct rows than the
// row cache may hold: the processor's cache stays within its bound (plus a
// row per partition writing at once), and every row reads back right.
func TestRowCacheBytesBoundsTheCache(t *testing.T) {
	t.Parallel()
	const partitions, keys, budget = 4, 2000, 32 << 10
	env := newProcEnv(t)
	env.createTopic("in", partitions)
	value := strings.Repeat("v", 200)
	gg := DefineGroup("row-budget", Input("in", new(codec.String), func(ctx Context, msg interface{}) {
		ctx.SetValue(value + ctx.Key())
	}), Persist(new(codec.String)))
	reg := prometheus.NewPedanticRegistry()
	proc := env.processor(gg, storage.MemoryBuilder(), WithRowCacheBytes(budget), WithMetrics(reg))
	r := env.startReady(proc)
	em := env.emitter("in", new(codec.String))
	for i := 0; i < keys; i++ {
		_, err := em.Emit(keyOf(i), "x")
		require.NoError(t, err)
	}
	require.NoError(t, em.Finish())
	eventually(t, "every row written", func() bool {
		v, err := proc.Get(keyOf(keys - 1))
		return err == nil && v != nil
	})
	for i := 0; i < keys; i++ {
		eventually(t, "row "+keyOf(i), func() bool {
			v, err := proc.Get(keyOf(i))
			return err == nil && v == value+keyOf(i)
		})
	}
	rows := proc.bounds.rows
	// A row: its key, its value and the cache's overhead per row.
	row := int64(len(keyOf(0)) + len(value) + len(keyOf(0)) + 100)
	assert.Equal(t, int64(budget), rows.Limit())
	assert.Greater(t, rows.Peak(), int64(budget)*3/4, "the cache was full")
	assert.LessOrEqual(t, rows.Peak(), int64(budget)+partitions*row, "at most one row over per partition")
	assert.LessOrEqual(t, rows.Used(), int64(budget))
	gauge, found := sampleSum(t, reg, "goka_processor_row_cache_bytes", map[string]string{"group": "row-budget"})
	require.True(t, found)
	assert.Greater(t, gauge, float64(budget)/2, "the gauge shows the cache's bytes")
	assert.LessOrEqual(t, gauge, float64(budget))
	require.NoError(t, r.stop(t))
	assert.Zero(t, rows.Used(), "a processor that stopped holds no rows")
}

// TestUnreleasedDeferredCommitIsWarnedAbout defers a commit and never
// releases it until the end: its age shows in
// goka_processor_oldest_deferred_commit_seconds and a warning names the
// message once it passes the limit; releasing it clears the metric.
func TestUnreleasedDeferredCommitIsWarnedAbout(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	held := make(chan func(error), 1)
	gg := DefineGroup("deferred-age", Input("in", new(codec.String), func(ctx Context, msg interface{}) {
		held <- ctx.DeferCommit()
	}))
	reg := prometheus.NewPedanticRegistry()
	logs := new(recordingLogger)
	proc := env.processor(gg, storage.MemoryBuilder(), WithMetrics(reg), WithLogger(logs), WithDeferredCommitWarning(50*time.Millisecond))
	r := env.startReady(proc)
	partition := map[string]string{"group": "deferred-age", "partition": "0"}
	const metric = "goka_processor_oldest_deferred_commit_seconds"
	assert.True(t, metricIs(t, reg, metric, partition, 0), "nothing deferred yet")

	env.emitSync("in", new(codec.String), "stuck", "v")
	release := receive(t, held)
	var warning string
	eventually(t, "the warning", func() bool {
		for _, line := range logs.taken() {
			if strings.Contains(line, "deferred commit has not been released") {
				warning = line
			}
		}
		return warning != ""
	})
	assert.Contains(t, warning, `topic=in, partition=0, offset=0, key="stuck"`)
	age, found := sampleSum(t, reg, metric, partition)
	require.True(t, found)
	assert.GreaterOrEqual(t, age, 0.05)

	release(nil)
	eventually(t, "the metric cleared", func() bool { return metricIs(t, reg, metric, partition, 0) })
	eventually(t, "the message committed", func() bool { return env.committed("deferred-age", "in", 0) == 1 })
	require.NoError(t, r.stop(t))
}

func TestMemoryOptionsAreChecked(t *testing.T) {
	gg := DefineGroup("memory-options", Input("in", new(codec.String), counter), Persist(new(codec.Int64)))
	for name, opt := range map[string]ProcessorOption{
		"WithRowCacheBytes":      WithRowCacheBytes(-1),
		"WithRestoreConcurrency": WithRestoreConcurrency(-1),
	} {
		_, err := NewProcessor(nil, gg, opt)
		assert.ErrorContains(t, err, name)
	}
	_, err := NewView(nil, "t", new(codec.String), WithViewRestoreConcurrency(-1))
	assert.ErrorContains(t, err, "WithViewRestoreConcurrency")

	var o poptions
	require.NoError(t, o.applyOptions(gg))
	assert.Equal(t, int64(64<<20), o.memory.rowCacheBytes)
	assert.Equal(t, defaultRestoreConcurrency(), o.memory.restoreConcurrency)
	assert.Equal(t, time.Minute, o.memory.deferredCommitWarning)
}

// withEveryRestoreLimited makes the small restores of these tests take a
// slot too, as big ones do.
func withEveryRestoreLimited() ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.memory.smallRestore = -1 }
}

// withEveryViewRestoreLimited is withEveryRestoreLimited for a view.
func withEveryViewRestoreLimited() ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.smallRestore = -1 }
}
