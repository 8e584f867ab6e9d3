package systemtest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The keyed load of the process scenarios: 100 keys over 6 partitions, 5
// messages every 10 ms (about 500 a second, less when the machine is busy).
const (
	loadPartitions = 6
	loadKeys       = 100
	loadPerTick    = 5
	loadEvery      = 10 * time.Millisecond
)

// TestScaleOutAndIn runs the counter as one process, then three, then one
// again, under a continuous keyed load, every change a clean one (start,
// SIGTERM). Every handover commits what it processed before the partition
// moves, so every message is counted exactly once.
func TestScaleOutAndIn(t *testing.T) {
	scaleOutAndIn(t, false)
}

// scaleOutAndIn is the scaling scenario, at least once or exactly once.
func scaleOutAndIn(t *testing.T, exactlyOnce bool) {
	c := newCluster(t)
	g := newCounterGroup(t, c, loadPartitions)
	g.exactlyOnce = exactlyOnce

	a := g.start("a")
	g.waitAssigned(t, a)
	ld := startLoad(t, c.brokers, g.input, loadKeys, loadPerTick, loadEvery)
	a.waitProcessed(t, 500)

	outStart := time.Now()
	b, cc := g.start("b"), g.start("c")
	g.waitAssigned(t, a, b, cc)
	aBase := a.processedNow()
	b.waitProcessed(t, 200)
	cc.waitProcessed(t, 200)
	a.waitProcessed(t, aBase+200)
	scaleOut := time.Since(outStart)
	ld.waitMore(t, 1500)

	inStart := time.Now()
	b.terminate(t)
	cc.terminate(t)
	g.waitAssigned(t, a)
	a.waitProcessed(t, a.processedNow()+500)
	scaleIn := time.Since(inStart)

	acked, failed := ld.finish(t)
	require.Empty(t, failed, "sends failed on a healthy broker")
	c.waitConsumed(g.group, g.input, g.partitions)
	a.terminate(t)

	v := compareCounts(g.readCounts(t), acked)
	t.Logf("summary: scale 1->3->1, %s: %s; scale-out took %s, scale-in %s; processed a=%d b=%d c=%d",
		g.mode(), v, scaleOut.Round(time.Millisecond), scaleIn.Round(time.Millisecond),
		a.processedNow(), b.processedNow(), cc.processedNow())
	require.Len(t, acked, loadKeys)
	v.requireExact(t)
}
