package systemtest_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// keptLog sends the library's log to the test's log and keeps the lines.
type keptLog struct {
	testLogger
	mu    sync.Mutex
	lines []string
}

func (l *keptLog) Print(v ...interface{})   { l.add(fmt.Sprint(v...)) }
func (l *keptLog) Println(v ...interface{}) { l.add(fmt.Sprint(v...)) }
func (l *keptLog) Printf(format string, v ...interface{}) {
	l.add(fmt.Sprintf(format, v...))
}

func (l *keptLog) add(s string) {
	l.t.Log(l.prefix, s)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

// has reports whether a line holds sub.
func (l *keptLog) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestSlowCallbackAcrossRebalance blocks a callback of the first instance
// while a second joins, with a partition stop deadline of one second. The
// rebalance must not wait for the callback: the partition misses its
// deadline, says so, and is left behind with its store marked dirty; its
// message, never committed, is processed by the partition's next owner,
// and what the late callback writes is dropped. The slow partition either
// moves to the second instance or stays with the first, which then
// rebuilds its store before it processes it again.
//
// The slow message is the first of its partition after a point where the
// group had committed everything, so at-least-once leaves nothing to count
// twice: the counts in the table topic must be exact. A late write that
// reached the topic would show as a lost count, since the slow key is
// counted again before the late callback is released.
func TestSlowCallbackAcrossRebalance(t *testing.T) {
	for _, tc := range []struct {
		name string
		slow int32
	}{{"moves", 1}, {"stays", 0}} {
		t.Run(tc.name, func(t *testing.T) { testSlowCallbackAcrossRebalance(t, tc.slow) })
	}
}

func testSlowCallbackAcrossRebalance(t *testing.T, slowPartition int32) {
	start := time.Now()
	const partitions, keys = 2, 10
	const stopTimeout = time.Second
	c := newCluster(t)
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	tableTopic := string(tableOf(group))
	c.createStream(input, partitions)
	c.deleteLater(tableTopic)

	var slowKey string
	for k := 0; k < keys && slowKey == ""; k++ {
		if partitionOfKey(t, keyName(k), partitions) == slowPartition {
			slowKey = keyName(k)
		}
	}
	require.NotEmpty(t, slowKey)
	var armed, slowed atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	graph := func() *goka.GroupGraph {
		return systemtest.CounterGraph(goka.Group(group), goka.Stream(input), func(key string, _ int64) {
			if key == slowKey && armed.Load() && slowed.CompareAndSwap(false, true) {
				close(entered)
				<-release
			}
		})
	}
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce() // a failed test must not leave the callback blocked

	// Members sorted by ID get ranges of the sorted partitions: after the
	// rebalance the first keeps partition 0 and the second gets 1.
	firstDir := t.TempDir()
	log := &keptLog{testLogger: testLogger{t, "first"}}
	first := startPeer(t, c, "first", graph(), storage.DefaultBuilder(firstDir),
		goka.WithClientID("a-first"), goka.WithPartitionStopTimeout(stopTimeout), goka.WithLogger(log))
	emitInt64s(t, c, input, keys, 1)
	c.waitConsumed(group, input, partitions, first.run)

	// The slow key first, so that nothing of its partition is processed and
	// uncommitted when its callback blocks.
	armed.Store(true)
	em, err := goka.NewEmitter(c.brokers, goka.Stream(input), new(codec.Int64),
		systemtest.EmitterOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig())...)
	require.NoError(t, err)
	require.NoError(t, em.EmitSync(slowKey, int64(1)))
	for k := range keys {
		if keyName(k) != slowKey {
			require.NoError(t, em.EmitSync(keyName(k), int64(1)))
		}
	}
	select {
	case <-entered:
	case <-time.After(consumeDeadline):
		t.Fatal("the slow callback did not start")
	}

	joined := time.Now()
	second := startPeer(t, c, "second", graph(), storage.DefaultBuilder(t.TempDir()),
		goka.WithClientID("b-second"), goka.WithPartitionStopTimeout(stopTimeout))
	second.waitHolds(t, 1)
	rebalanced := time.Since(joined)
	assert.True(t, log.has(fmt.Sprintf("did not stop within %s", stopTimeout)), "the missed deadline is logged")
	if slowPartition == 1 {
		// The second counts the slow key again while the late callback
		// still runs, and once more after: a late write that reached the
		// table topic would leave 2 behind instead of 3.
		for k := range keys {
			require.NoError(t, em.EmitSync(keyName(k), int64(1)))
		}
		c.waitConsumed(group, input, partitions, first.run, second.run)
	}
	require.NoError(t, em.Finish())
	releaseOnce()
	first.waitHolds(t, 0)
	c.waitConsumed(group, input, partitions, first.run, second.run)
	second.stop(t)
	first.stop(t)

	want := uniform(keys, 2)
	if slowPartition == 1 {
		want = uniform(keys, 3)
	}
	verdict := compareCounts(readTable(t, c.brokers, tableOf(group)), want)
	verdict.requireExact(t)

	if slowPartition == 0 {
		assert.True(t, log.has("was not closed cleanly"), "the partition that stayed rebuilt its store")
	} else {
		st, err := storage.DefaultBuilder(firstDir)(tableTopic, slowPartition)
		require.NoError(t, err)
		require.NoError(t, st.Open())
		offset, err := st.GetOffset(0)
		require.NoError(t, st.Close())
		require.NoError(t, err)
		assert.Equal(t, int64(table.DirtyOffset), offset, "the partition left behind stays marked dirty")
	}
	t.Logf("summary: slow partition %d: the rebalance took %s with a %s stop deadline; %s; whole test %s",
		slowPartition, rebalanced.Round(time.Millisecond), stopTimeout, verdict, time.Since(start).Round(time.Millisecond))
}
