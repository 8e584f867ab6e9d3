package systemtest_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// readCommittedTable reads a counter table as readTable does, through a view
// that sees only committed transactions (goka.WithViewReadCommitted): what
// an exactly-once processor's readers see.
func readCommittedTable(t *testing.T, brokers []string, table goka.Table) map[string]int64 {
	t.Helper()
	view, err := goka.NewView(brokers, table, new(codec.Int64),
		append(systemtest.ViewOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig(), storage.MemoryBuilder()),
			goka.WithViewReadCommitted(),
			goka.WithViewLogger(testLogger{t, "verifier view"}))...)
	require.NoError(t, err)
	run := startView(t, view)
	defer func() { require.NoError(t, run.stop(t)) }()
	ctx, cancel := context.WithTimeout(context.Background(), consumeDeadline)
	defer cancel()
	require.NoError(t, view.WaitRecovered(ctx))
	return viewCounts(t, view)
}

// TestKillAndRestartExactlyOnce is TestKillAndRestart with exactly-once
// processors: the killed instance's open transaction is aborted (by the
// broker, after the transaction timeout) and what it processed since its
// last commit is processed again by the instance that takes over, so the
// counts read with read_committed are exact: nothing lost, nothing counted
// twice.
func TestKillAndRestartExactlyOnce(t *testing.T) {
	c := newCluster(t)
	g := newCounterGroup(t, c, loadPartitions)
	g.exactlyOnce = true

	a, b := g.start("a"), g.start("b")
	g.waitAssigned(t, a, b)
	ld := startLoad(t, c.brokers, g.input, loadKeys, loadPerTick, loadEvery)

	var rounds []string
	for round := 1; round <= killRounds; round++ {
		b.waitProcessed(t, 300)
		killedAt := b.processedNow()
		b.kill(t)
		start := time.Now()
		g.waitAssigned(t, a)
		c.waitCommitted(g.group, g.input, c.mustNewest(g.input, g.partitions))
		takeover := time.Since(start)

		b = g.start("b")
		g.waitAssigned(t, a, b)
		b.waitProcessed(t, 100)
		rounds = append(rounds, fmt.Sprintf("round %d: killed after %d, taken over in %s, back in %s",
			round, killedAt, takeover.Round(time.Millisecond), time.Since(start).Round(time.Millisecond)))
	}

	acked, failed := ld.finish(t)
	require.Empty(t, failed, "sends failed on a healthy broker")
	c.waitConsumed(g.group, g.input, g.partitions)
	a.terminate(t)
	b.terminate(t)

	v := compareCounts(readCommittedTable(t, c.brokers, tableOf(g.group)), acked)
	for _, r := range rounds {
		t.Log(r)
	}
	t.Logf("summary: SIGKILL x%d, exactly once: %s (%s)", killRounds, v, strings.Join(rounds, "; "))
	require.Len(t, acked, loadKeys)
	v.requireExact(t)
}

// TestScaleOutAndInExactlyOnce is TestScaleOutAndIn with exactly-once
// processors: every handover commits the partition's last transaction
// before the partition moves, and the counts read with read_committed are
// exact.
func TestScaleOutAndInExactlyOnce(t *testing.T) {
	c := newCluster(t)
	g := newCounterGroup(t, c, loadPartitions)
	g.exactlyOnce = true

	a := g.start("a")
	g.waitAssigned(t, a)
	ld := startLoad(t, c.brokers, g.input, loadKeys, loadPerTick, loadEvery)
	a.waitProcessed(t, 500)

	b, cc := g.start("b"), g.start("c")
	g.waitAssigned(t, a, b, cc)
	aBase := a.processedNow()
	b.waitProcessed(t, 200)
	cc.waitProcessed(t, 200)
	a.waitProcessed(t, aBase+200)
	ld.waitMore(t, 1500)

	b.terminate(t)
	cc.terminate(t)
	g.waitAssigned(t, a)
	a.waitProcessed(t, a.processedNow()+500)

	acked, failed := ld.finish(t)
	require.Empty(t, failed, "sends failed on a healthy broker")
	c.waitConsumed(g.group, g.input, g.partitions)
	a.terminate(t)

	v := compareCounts(readCommittedTable(t, c.brokers, tableOf(g.group)), acked)
	t.Logf("summary: scale 1->3->1, exactly once: %s; processed a=%d b=%d c=%d", v, a.processedNow(), b.processedNow(), cc.processedNow())
	require.Len(t, acked, loadKeys)
	v.requireExact(t)
}

// TestZombieFencedExactlyOnce pauses one of two exactly-once counter
// processes (SIGSTOP) under load, with its transaction open, until the
// group has given its partitions to the other, then resumes it (SIGCONT):
// the broker refuses its commit, since its generation is gone, and its Run
// ends with an error saying it was fenced. Nothing it wrote since its last
// commit is visible: the counts read with read_committed are exact.
func TestZombieFencedExactlyOnce(t *testing.T) {
	c := newCluster(t)
	g := newCounterGroup(t, c, loadPartitions)
	g.exactlyOnce = true

	a, b := g.start("a"), g.start("b")
	g.waitAssigned(t, a, b)
	ld := startLoad(t, c.brokers, g.input, loadKeys, loadPerTick, loadEvery)
	b.waitProcessed(t, 300)

	require.NoError(t, b.cmd.Process.Signal(syscall.SIGSTOP))
	paused := time.Now()
	g.waitAssigned(t, a)
	takeover := time.Since(paused)
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGCONT))
	select {
	case <-b.exited:
	case <-time.After(stopDeadline):
		t.Fatalf("the resumed zombie did not end within %s", stopDeadline)
	}
	_, _, failed := b.state()
	require.Contains(t, failed, goka.ErrFenced.Error(), "the zombie's Run says it was fenced")
	require.Contains(t, failed, goka.ErrTransactionAborted.Error())

	ld.waitMore(t, 500)
	acked, sendFailed := ld.finish(t)
	require.Empty(t, sendFailed, "sends failed on a healthy broker")
	c.waitConsumed(g.group, g.input, g.partitions)
	a.terminate(t)

	v := compareCounts(readCommittedTable(t, c.brokers, tableOf(g.group)), acked)
	t.Logf("summary: zombie paused %s until the other took over, then fenced (%q): %s", takeover.Round(time.Millisecond), failed, v)
	require.Len(t, acked, loadKeys)
	v.requireExact(t)
}
