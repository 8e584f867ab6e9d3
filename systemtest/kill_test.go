package systemtest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// killRounds is how often the second instance is killed and started again.
const killRounds = 3

// TestKillAndRestart runs two counter processes under a continuous keyed
// load and kills one with SIGKILL in the middle of the stream, then starts it
// again on the same stores, several times. At least once allows counting a
// message twice when it was processed but not yet committed at the kill;
// losing one is never allowed. The duplicates are reported.
func TestKillAndRestart(t *testing.T) {
	killAndRestart(t, false)
}

// killAndRestart is the SIGKILL scenario, at least once or exactly once.
func killAndRestart(t *testing.T, exactlyOnce bool) {
	c := newCluster(t)
	g := newCounterGroup(t, c, loadPartitions)
	g.exactlyOnce = exactlyOnce

	a, b := g.start("a"), g.start("b")
	g.waitAssigned(t, a, b)
	ld := startLoad(t, c.brokers, g.input, loadKeys, loadPerTick, loadEvery)

	var rounds []string
	for round := 1; round <= killRounds; round++ {
		// Mid-stream: b has been counting for a while and the load goes on.
		b.waitProcessed(t, 300)
		killedAt := b.processedNow()
		b.kill(t)
		start := time.Now()
		// a takes over b's partitions once b's session timed out, and
		// catches up with what b left uncommitted and what came since.
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

	v := compareCounts(g.readCounts(t), acked)
	for _, r := range rounds {
		t.Log(r)
	}
	t.Logf("summary: SIGKILL x%d, %s: %s (%s)", killRounds, g.mode(), v, strings.Join(rounds, "; "))
	require.Len(t, acked, loadKeys)
	g.requireCounted(t, v)
}
