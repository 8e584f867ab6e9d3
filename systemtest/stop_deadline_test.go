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
// rebuilds its store before it processes it again. With hot standby, the
// partition that moved is kept warm by the first instance on the store its
// late callback left dirty, and taken back when the second leaves: what
// the first counts on from there must hold too.
//
// Meanwhile, every other partition runs on: a round of messages sent after
// the rebalance is consumed by each partition but a slow one that stayed
// before the late callback is released.
//
// The slow message is the first of its partition after a point where the
// group had committed everything, so at-least-once leaves nothing to count
// twice: the counts in the table topic must be exact. A late write that
// reached the topic would show as a lost count where the slow partition
// moved (its new owner counts the slow key twice more before the late
// callback is released), and as a double count where it stayed (the
// rebuilt store would hold it and the message is processed again).
func TestSlowCallbackAcrossRebalance(t *testing.T) {
	for _, sc := range []slowScenario{
		{name: "moves", partitions: 2, slow: 1},
		{name: "stays", partitions: 2, slow: 0},
		{name: "stays beside another partition", partitions: 3, slow: 0},
		{name: "moves to a hot standby", partitions: 2, slow: 1, standby: true},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t) })
	}
}

// lateDeadline bounds how long a partition may take to consume a round of
// messages beside the late callback of another: nothing should make it
// wait, and a round takes well under a second.
const lateDeadline = 10 * time.Second

// slowScenario is one case of TestSlowCallbackAcrossRebalance. The group
// gives ranges of the sorted partitions to the members sorted by ID: after
// the rebalance the first instance keeps all but the last partition, the
// second gets the last.
type slowScenario struct {
	name       string
	partitions int32
	slow       int32 // the partition of the slow callback
	standby    bool  // both instances run with hot standby
}

func (sc slowScenario) run(t *testing.T) {
	start := time.Now()
	const keys = 12
	const stopTimeout = time.Second
	c := newCluster(t)
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	tableTopic := string(tableOf(group))
	c.createStream(input, sc.partitions)
	c.deleteLater(tableTopic)
	last := sc.partitions - 1
	var firstKeeps []int32
	for p := range last {
		firstKeeps = append(firstKeeps, p)
	}

	var slowKey string
	for k := 0; k < keys && slowKey == ""; k++ {
		if partitionOfKey(t, keyName(k), sc.partitions) == sc.slow {
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

	firstDir := t.TempDir()
	log := &keptLog{testLogger: testLogger{t, "first"}}
	var opts []goka.ProcessorOption
	if sc.standby {
		opts = append(opts, goka.WithHotStandby())
	}
	first := startPeer(t, c, "first", graph(), storage.DefaultBuilder(firstDir), append(opts,
		goka.WithClientID("a-first"), goka.WithPartitionStopTimeout(stopTimeout), goka.WithLogger(log))...)
	em, err := goka.NewEmitter(c.brokers, goka.Stream(input), new(codec.Int64),
		systemtest.EmitterOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig())...)
	require.NoError(t, err)
	want := make(map[string]int64, keys)
	round := func(first string) {
		t.Helper()
		if first != "" {
			require.NoError(t, em.EmitSync(first, int64(1)))
			want[first]++
		}
		for k := range keys {
			if key := keyName(k); key != first {
				require.NoError(t, em.EmitSync(key, int64(1)))
				want[key]++
			}
		}
	}
	round("")
	c.waitConsumed(group, input, sc.partitions, first.run)

	// The slow key first, so that nothing of its partition is processed and
	// uncommitted when its callback blocks.
	armed.Store(true)
	round(slowKey)
	select {
	case <-entered:
	case <-time.After(consumeDeadline):
		t.Fatal("the slow callback did not start")
	}

	joined := time.Now()
	second := startPeer(t, c, "second", graph(), storage.DefaultBuilder(t.TempDir()), append(opts,
		goka.WithClientID("b-second"), goka.WithPartitionStopTimeout(stopTimeout))...)
	second.waitHolds(t, last)
	rebalanced := time.Since(joined)
	assert.True(t, log.has(fmt.Sprintf("did not stop within %s", stopTimeout)), "the missed deadline is logged")

	// Every partition but a slow one that stayed consumes a round sent
	// while the late callback runs.
	round("")
	running := func() (bool, string) {
		hwms := c.mustNewest(input, sc.partitions)
		committed, err := c.committed(group, input, sc.partitions)
		if err != nil {
			return false, err.Error()
		}
		for p := range sc.partitions {
			if p != sc.slow || sc.slow == last {
				if committed[p] < hwms[p] {
					return false, fmt.Sprintf("partition %d committed %d of %d (all: %v of %v); first holds %v, recovered %v",
						p, committed[p], hwms[p], committed, hwms, first.sessions.last(), first.proc.Recovered())
				}
			}
		}
		return true, ""
	}
	waitFor(t, lateDeadline, "the partitions beside the late callback to run", running)
	releaseOnce()
	first.waitHolds(t, firstKeeps...)
	c.waitConsumed(group, input, sc.partitions, first.run, second.run)
	second.stop(t)
	if sc.standby {
		// The first takes the partition it kept warm back and counts on.
		first.waitHolds(t, append(firstKeeps, last)...)
		round("")
		c.waitConsumed(group, input, sc.partitions, first.run)
		for key, n := range want {
			v, err := first.proc.Get(key)
			require.NoError(t, err)
			assert.Equal(t, n, v, "%s in the first's table", key)
		}
	}
	require.NoError(t, em.Finish())
	first.stop(t)

	verdict := compareCounts(readTable(t, c.brokers, tableOf(group)), want)
	verdict.requireExact(t)

	switch {
	case sc.standby:
	case sc.slow != last:
		assert.True(t, log.has("was not closed cleanly"), "the partition that stayed rebuilt its store")
	default:
		st, err := storage.DefaultBuilder(firstDir)(tableTopic, sc.slow)
		require.NoError(t, err)
		require.NoError(t, st.Open())
		offset, err := st.GetOffset(0)
		require.NoError(t, st.Close())
		require.NoError(t, err)
		assert.Equal(t, int64(table.DirtyOffset), offset, "the partition left behind stays marked dirty")
	}
	t.Logf("summary: slow partition %d of %d: the rebalance took %s with a %s stop deadline; %s; whole test %s",
		sc.slow, sc.partitions, rebalanced.Round(time.Millisecond), stopTimeout, verdict, time.Since(start).Round(time.Millisecond))
}

// TestSlowCallbackAtShutdown cancels Run while a callback is blocked past
// the partition stop deadline. The partition misses its deadline, says so
// and leaves its store dirty; a restart on that store rebuilds it from the
// topic and processes the uncommitted message again: the counts are exact.
// The group is left at the deadline, but Run returns only once the late
// callback has returned, as WithPartitionStopTimeout documents: it says so
// in the log, and returns promptly after the release.
func TestSlowCallbackAtShutdown(t *testing.T) {
	start := time.Now()
	const partitions, keys = 2, 12
	const stopTimeout = time.Second
	c := newCluster(t)
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	tableTopic := string(tableOf(group))
	c.createStream(input, partitions)
	c.deleteLater(tableTopic)
	slowKey := keyName(0)
	slowPartition := partitionOfKey(t, slowKey, partitions)
	var armed, slowed atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	graph := func() *goka.GroupGraph {
		return systemtest.CounterGraph(goka.Group(group), goka.Stream(input), func(key string, _ int64) {
			if key == slowKey && armed.Load() && slowed.CompareAndSwap(false, true) {
				close(entered)
				<-release
			}
		})
	}
	dir := t.TempDir()
	log := &keptLog{testLogger: testLogger{t, "first"}}
	first := startPeer(t, c, "first", graph(), storage.DefaultBuilder(dir),
		goka.WithPartitionStopTimeout(stopTimeout), goka.WithLogger(log))
	emitInt64s(t, c, input, keys, 1)
	c.waitConsumed(group, input, partitions, first.run)
	armed.Store(true)
	// key-000 first: nothing of the slow partition is processed and
	// uncommitted when its callback blocks.
	emitInt64s(t, c, input, keys, 1)
	select {
	case <-entered:
	case <-time.After(consumeDeadline):
		t.Fatal("the slow callback did not start")
	}

	cancelled := time.Now()
	first.run.cancel()
	waitFor(t, lateDeadline, "the missed deadline to be logged", func() (bool, string) {
		return log.has(fmt.Sprintf("did not stop within %s", stopTimeout)), "not logged yet"
	})
	waitFor(t, lateDeadline, "Run to say it waits for the late callback", func() (bool, string) {
		return log.has("missed their stop deadline: Run returns once the callbacks still running return"), "not logged yet"
	})
	require.True(t, first.run.running(), "Run returned while a callback of its still ran")
	released := time.Since(cancelled)
	releaseOnce()
	require.NoError(t, first.run.wait(t, stopDeadline))
	took := first.run.ended.Sub(cancelled)
	assert.Less(t, took-released, lateDeadline, "Run returns promptly once the late callback returned")

	st, err := storage.DefaultBuilder(dir)(tableTopic, slowPartition)
	require.NoError(t, err)
	require.NoError(t, st.Open())
	offset, err := st.GetOffset(0)
	require.NoError(t, st.Close())
	require.NoError(t, err)
	assert.Equal(t, int64(table.DirtyOffset), offset, "the partition left behind stays marked dirty")

	restartLog := &keptLog{testLogger: testLogger{t, "restarted"}}
	restarted := startPeer(t, c, "restarted", graph(), storage.DefaultBuilder(dir), goka.WithLogger(restartLog))
	c.waitConsumed(group, input, partitions, restarted.run)
	assert.True(t, restartLog.has("was not closed cleanly"), "the restart rebuilt the dirty store")
	counts := make(map[string]int64, keys)
	for k := range keys {
		v, err := restarted.proc.Get(keyName(k))
		require.NoError(t, err)
		counts[keyName(k)], _ = v.(int64)
	}
	restarted.stop(t)
	verdict := compareCounts(counts, uniform(keys, 2))
	verdict.requireExact(t)
	compareCounts(readTable(t, c.brokers, tableOf(group)), uniform(keys, 2)).requireExact(t)
	t.Logf("summary: Run returned %s after its cancel with a %s stop deadline (the late callback was released %s after it); restart: %s; whole test %s",
		took.Round(time.Millisecond), stopTimeout, released.Round(time.Millisecond), verdict, time.Since(start).Round(time.Millisecond))
}
