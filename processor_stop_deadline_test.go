package goka

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// linesLogger logs through the test and keeps the lines.
type linesLogger struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (l *linesLogger) Print(v ...interface{})   { l.add(fmt.Sprint(v...)) }
func (l *linesLogger) Println(v ...interface{}) { l.add(fmt.Sprint(v...)) }
func (l *linesLogger) Printf(format string, v ...interface{}) {
	l.add(fmt.Sprintf(format, v...))
}

func (l *linesLogger) add(s string) {
	l.t.Log(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *linesLogger) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestProcessorSlowCallbackAcrossRebalance: a callback that runs past the
// partition stop timeout does not hold up a rebalance: the partition is
// left behind with its store marked dirty (logged), its message is not
// committed and its next owner processes it, and nothing the late callback
// wrote counts: the counts stay exact. The slow partition either moves to
// the other instance or stays, and then waits for the late callback before
// it reopens its store and rebuilds it.
func TestProcessorSlowCallbackAcrossRebalance(t *testing.T) {
	t.Parallel()
	for name, slowPartition := range map[string]int32{"moves": 1, "stays": 0} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testSlowCallbackAcrossRebalance(t, slowPartition)
		})
	}
}

func testSlowCallbackAcrossRebalance(t *testing.T, slowPartition int32) {
	env := newProcEnv(t)
	const partitions, keys = 2, 10
	env.createTopic("clicks", partitions)
	var slowKey string
	for k := 0; k < keys && slowKey == ""; k++ {
		if partitionOf(t, keyOf(k), partitions) == slowPartition {
			slowKey = keyOf(k)
		}
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	var slowed atomic.Bool
	graph := func() *GroupGraph {
		return DefineGroup("counter", Input("clicks", new(codec.String), func(ctx Context, msg interface{}) {
			if ctx.Key() == slowKey && slowed.CompareAndSwap(false, true) {
				close(entered)
				<-release
			}
			counter(ctx, msg)
		}), Persist(new(codec.Int64)))
	}
	// The group gives ranges of partitions to the members sorted by client
	// ID: after the rebalance the first keeps partition 0, the second gets 1.
	firstDir := t.TempDir()
	log := &linesLogger{t: t}
	first := env.processor(graph(), storage.DefaultBuilder(firstDir),
		WithClientID("a-first"), WithPartitionStopTimeout(300*time.Millisecond), WithLogger(log))
	r1 := env.start(first)
	env.emitCounts("clicks", keys, 1, "click")
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow callback did not start")
	}

	second := env.processor(graph(), storage.DefaultBuilder(t.TempDir()),
		WithClientID("b-second"), WithPartitionStopTimeout(300*time.Millisecond))
	r2 := env.start(second)
	eventually(t, "the rebalance ends while the callback still runs", func() bool {
		parts := activePartitions(second)
		return len(parts) == 1 && parts[0] == 1 && second.Recovered()
	})
	assert.True(t, log.has("did not stop within 300ms"), "the missed deadline is logged")
	close(release)
	eventually(t, "the partitions split", func() bool { return splitEvenly(first, second, partitions) })
	eventually(t, "exact counts", func() bool { return countsAcross(uniformCounts(keys, 1), first, second) })
	require.NoError(t, r2.stop(t))
	require.NoError(t, r1.stop(t))

	if slowPartition == 0 {
		assert.True(t, log.has("was not closed cleanly"), "the partition that stayed rebuilt its store")
		return
	}
	st, err := storage.DefaultBuilder(firstDir)("counter-table", 1)
	require.NoError(t, err)
	require.NoError(t, st.Open())
	defer func() { require.NoError(t, st.Close()) }()
	offset, err := st.GetOffset(0)
	require.NoError(t, err)
	assert.Equal(t, int64(table.DirtyOffset), offset, "the partition left behind stays marked dirty")
}

// TestPartitionStopTimeoutOption: the partition stop timeout defaults to
// half the rebalance timeout and must stay below it.
func TestPartitionStopTimeoutOption(t *testing.T) {
	gg := DefineGroup("g", Input("in", new(codec.String), counter), Persist(new(codec.Int64)))
	rebalance := globalConfig().Consumer.Group.Rebalance.Timeout

	var o poptions
	require.NoError(t, o.applyOptions(gg))
	assert.Equal(t, rebalance/2, o.stopTimeout)

	o = poptions{}
	require.NoError(t, o.applyOptions(gg, WithPartitionStopTimeout(time.Second)))
	assert.Equal(t, time.Second, o.stopTimeout)

	o = poptions{}
	err := o.applyOptions(gg, WithPartitionStopTimeout(rebalance))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Rebalance.Timeout")

	o = poptions{}
	assert.Error(t, o.applyOptions(gg, WithPartitionStopTimeout(-time.Second)))

	// Another builder's rebalance timeout is unknown: the value is taken.
	o = poptions{}
	require.NoError(t, o.applyOptions(gg, WithPartitionStopTimeout(2*rebalance),
		WithConsumerGroupBuilder(ConsumerGroupBuilderWithConfig(DefaultConfig()))))

	_, err = NewProcessor([]string{"localhost:1"}, gg, WithPartitionStopTimeout(rebalance))
	assert.ErrorContains(t, err, "Rebalance.Timeout", "NewProcessor checks it")
}
