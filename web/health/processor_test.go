package health

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func count(ctx goka.Context, _ interface{}) {
	var n int64
	if v := ctx.Value(); v != nil {
		n = v.(int64)
	}
	ctx.SetValue(n + 1)
}

// A processor restoring its table is live but not ready, and the answer
// names the partitions restoring; once restored it is ready.
func TestProcessorNotReadyWhileRestoringItsTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTopic("clicks", 2)
	gg := goka.DefineGroup("counter", goka.Input("clicks", new(codec.String), count), goka.Persist(new(codec.Int64)))
	g := newGate(t)
	proc := e.processor(gg, g.builder) // creates counter-table
	// A table written before the processor starts, so that it has
	// something to restore.
	e.emitSync("counter-table", new(codec.Int64), [2]any{"alice", int64(3)}, [2]any{"bob", int64(5)}, [2]any{"carol", int64(7)})
	require.NoError(t, e.probes.AttachProcessor(proc))

	p := e.get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, p.status, "not ready before Run")
	assert.Contains(t, p.problems("processor counter"), "health: not recovered: idle (Run not called yet)")
	assert.Equal(t, http.StatusOK, e.get("/healthz").status, "live before Run: it has not failed")

	run(t, proc)
	p = e.awaitProbe("/readyz", "a partition restoring", mentions(http.StatusServiceUnavailable,
		"processor counter", "table counter-table is recovering", "messages to restore"))
	assert.False(t, *p.answer.Ready)
	t.Logf("while restoring: %s", p.body)
	assert.Equal(t, http.StatusOK, e.get("/healthz").status, "live while restoring")

	g.open()
	p = e.awaitProbe("/readyz", "ready", is(http.StatusOK))
	assert.Equal(t, []checkResult{{Name: "processor counter", Ready: ptr(true)}}, p.answer.Checks)
	// The check tells assigned partitions from hot standby ones by goka's
	// unexported run mode: it must be the one of the assigned.
	stats := proc.Stats()
	require.Len(t, stats.Group, 2)
	for partition, ps := range stats.Group {
		assert.Equal(t, activeMode, ps.TableStats.RunMode, "partition %d", partition)
	}
}

// A partition further behind its input than the limit makes the processor
// unready, and the answer names that partition, the input and the lag; the
// other partition is not named. Once it caught up, it is ready again.
func TestProcessorNotReadyWhileAPartitionLags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTopic("events", 2)
	stuck, release := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	var first bool
	gg := goka.DefineGroup("slow", goka.Input("events", new(codec.String), func(ctx goka.Context, _ interface{}) {
		if ctx.Key() == "late" && !first {
			first = true // the partition's goroutine only
			close(stuck)
			<-release
		}
	}))
	proc := e.processor(gg, memory)
	msgs := make([][2]any, 20)
	for i := range msgs {
		msgs[i] = [2]any{"late", fmt.Sprint(i)}
	}
	e.emitSync("events", new(codec.String), msgs...)
	require.NoError(t, e.probes.AttachProcessor(proc, WithMaxLag(5)))

	run(t, proc)
	<-stuck
	lagging := partitionOf("late", 2)
	p := e.awaitProbe("/readyz", "the lag of the stuck partition", mentions(http.StatusServiceUnavailable,
		"processor slow", fmt.Sprintf("partition %d: input events lags 19 messages (limit 5)", lagging)))
	assert.Len(t, p.problems("processor slow"), 1, "only the stuck partition is named: %s", p.body)
	t.Logf("while lagging: %s", p.body)
	assert.Equal(t, http.StatusOK, e.get("/healthz").status, "a lag is no reason to restart")

	close(release)
	e.awaitProbe("/readyz", "ready once caught up", is(http.StatusOK))
}

// A processor whose Run returned an error is neither live nor ready, and the
// answer says what Run returned; one cancelled stays live, not ready.
func TestProcessorNotLiveAfterRunFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTopic("orders", 1)
	e.createTopic("payments", 1)
	failing := e.processor(goka.DefineGroup("failing", goka.Input("orders", new(codec.String), func(ctx goka.Context, _ interface{}) {
		ctx.Fail(errors.New("no such customer"))
	})), memory)
	stopping := e.processor(goka.DefineGroup("stopping", goka.Input("payments", new(codec.String), func(goka.Context, interface{}) {})), memory)
	require.NoError(t, e.probes.AttachProcessor(failing))
	require.NoError(t, e.probes.AttachProcessor(stopping))

	failed := run(t, failing)
	stopped := run(t, stopping)
	e.awaitProbe("/readyz", "both ready", is(http.StatusOK))
	assert.Equal(t, http.StatusOK, e.get("/healthz").status)

	e.emitSync("orders", new(codec.String), [2]any{"order-1", "42"})
	require.Error(t, failed.wait(t))
	p := e.get("/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, p.status)
	assert.False(t, *p.answer.Live)
	problems := p.problems("processor failing")
	require.Len(t, problems, 1, p.body)
	assert.Contains(t, problems[0], "health: stopped: Run returned: ")
	assert.Contains(t, problems[0], "no such customer")
	assert.Empty(t, p.problems("processor stopping"), "the other is live")

	require.NoError(t, stopped.stop(t))
	p = e.get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, p.status)
	assert.Equal(t, []string{"health: stopped: Run returned"}, p.problems("processor stopping"))
	p = e.get("/healthz")
	assert.Empty(t, p.problems("processor stopping"), "a cancelled processor is still live: the program shuts down")
}

func ptr[T any](v T) *T { return &v }

// With hot standby, an instance also restores the partitions it is not
// assigned. The processor's state waits for those restores too, and so does
// its readiness, naming the partition it waits for; their lag never counts.
func TestProcessorWithHotStandby(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTopic("likes", 2)
	gg := goka.DefineGroup("liked", goka.Input("likes", new(codec.String), count), goka.Persist(new(codec.Int64)))
	first := e.processor(gg, memory, goka.WithHotStandby()) // creates liked-table
	// Something to restore in both partitions of the table.
	var rows [][2]any
	for i := 0; len(rows) < 2; i++ {
		key := fmt.Sprint("post-", i)
		if partitionOf(key, 2) == int32(len(rows)) {
			rows = append(rows, [2]any{key, int64(i)})
		}
	}
	e.emitSync("liked-table", new(codec.Int64), rows...)
	run(t, first)
	require.NoError(t, first.WaitForReady())

	g := newGate(t)
	second := e.processor(gg, g.builder, goka.WithHotStandby())
	require.NoError(t, e.probes.AttachProcessor(second))
	run(t, second)

	// The group splits the partitions; the second instance restores both,
	// the one it was assigned and the one it follows.
	var assigned, standby int32 = -1, -1
	e.awaitProbe("/readyz", "an assigned and a hot standby partition restoring", func(probe) bool {
		assigned, standby = -1, -1
		for partition, ps := range second.Stats().Group {
			if ps.TableStats == nil || ps.TableStats.Status != goka.PartitionRecovering {
				continue
			}
			if ps.TableStats.RunMode == activeMode {
				assigned = partition
			} else {
				standby = partition
			}
		}
		return assigned >= 0 && standby >= 0
	})
	p := e.get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, p.status)
	require.NotEmpty(t, p.problems("processor liked"), p.body)
	assert.Equal(t, "health: not recovered: setting up a session", p.problems("processor liked")[0])
	assert.Contains(t, p.problems("processor liked"), fmt.Sprintf("health: not recovered: partition %d: table liked-table is recovering, 1 message to restore", assigned))
	assert.Contains(t, p.problems("processor liked"), fmt.Sprintf("health: not recovered: partition %d: hot standby table liked-table is recovering, 1 message to restore", standby))

	g.openPartition(assigned)
	p = e.awaitProbe("/readyz", "only the hot standby partition restoring", func(p probe) bool {
		return p.status == http.StatusServiceUnavailable && len(p.problems("processor liked")) == 2
	})
	assert.Equal(t, []string{
		"health: not recovered: setting up a session",
		fmt.Sprintf("health: not recovered: partition %d: hot standby table liked-table is recovering, 1 message to restore", standby),
	}, p.problems("processor liked"))

	g.openPartition(standby)
	e.awaitProbe("/readyz", "ready", is(http.StatusOK))
}
