package systemtest_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
)

// readCounts reads the group's counter table as its processors' readers
// would: with read_committed when they process exactly once.
func (g *counterGroup) readCounts(t *testing.T) map[string]int64 {
	if g.exactlyOnce {
		return readTable(t, g.brokers, tableOf(g.group), goka.WithViewReadCommitted())
	}
	return readTable(t, g.brokers, tableOf(g.group))
}

// mode names the group's delivery guarantee, for the summaries.
func (g *counterGroup) mode() string {
	if g.exactlyOnce {
		return "exactly once"
	}
	return "at least once"
}

// requireCounted fails on a lost message and, exactly once, on one counted
// twice.
func (g *counterGroup) requireCounted(t *testing.T, v verdict) {
	t.Helper()
	if g.exactlyOnce {
		v.requireExact(t)
		return
	}
	v.requireNoLoss(t)
}

// TestKillAndRestartExactlyOnce is TestKillAndRestart with exactly-once
// processors: the killed instance's open transaction is aborted (by the
// broker, after the transaction timeout) and what it processed since its
// last commit is processed again by the instance that takes over, so the
// counts read with read_committed are exact: nothing lost, nothing counted
// twice.
func TestKillAndRestartExactlyOnce(t *testing.T) {
	killAndRestart(t, true)
}

// TestScaleOutAndInExactlyOnce is TestScaleOutAndIn with exactly-once
// processors: every handover commits the partition's last transaction
// before the partition moves, and the counts read with read_committed are
// exact.
func TestScaleOutAndInExactlyOnce(t *testing.T) {
	scaleOutAndIn(t, true)
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

	v := compareCounts(readTable(t, c.brokers, tableOf(g.group), goka.WithViewReadCommitted()), acked)
	t.Logf("summary: zombie paused %s until the other took over, then fenced (%q): %s", takeover.Round(time.Millisecond), failed, v)
	require.Len(t, acked, loadKeys)
	v.requireExact(t)
}
