package systemtest_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stayedPauseLimit is the longest pause a partition that stays on its
// instance may show through a cooperative rebalance: a few times the
// machine's noise, far below an eager rebalance's stop of every partition.
const stayedPauseLimit = time.Second

// TestCooperativeRebalancePauses scales the counter from two processes to
// three and back to two under a continuous keyed load, once with the eager
// protocol (the default) and once with WithCooperativeRebalancing, and
// measures each partition's longest pause in processing through each
// change: the longest gap between two consecutive writes of the partition's
// group table (each processed message writes one, timestamped when it is
// sent). Under the cooperative protocol the partitions that stay on their
// instance pause no longer than the noise of the quiet time before; only
// the moved ones stop for their hand-over. Under the eager protocol every
// partition stops. The counts stay exact in both. It runs with the
// scenarios' short group timing (heartbeat 300 ms, session timeout 6 s) and
// with sarama's defaults (3 s, 10 s), with which the members take up to a
// heartbeat interval to notice a rebalance.
func TestCooperativeRebalancePauses(t *testing.T) {
	c := newCluster(t)
	type timing struct {
		name                      string
		heartbeat, sessionTimeout time.Duration
	}
	var summary []string
	for _, tm := range []timing{
		{name: "heartbeat 300ms"},
		{name: "heartbeat 3s (sarama's default)", heartbeat: 3 * time.Second, sessionTimeout: 10 * time.Second},
	} {
		results := make(map[string]scalePauses, 2)
		for _, mode := range []string{"eager", "cooperative"} {
			results[mode] = scale2To3To2(t, c, func(g *counterGroup) {
				g.cooperative = mode == "cooperative"
				g.heartbeat, g.sessionTimeout = tm.heartbeat, tm.sessionTimeout
			})
			summary = append(summary, fmt.Sprintf("%s, %s: %s", tm.name, mode, results[mode]))
		}
		coop := results["cooperative"]
		for _, change := range []changePauses{coop.out, coop.in} {
			require.NotEmpty(t, change.stayed, "%s: some partitions stay", change.name)
			for p, d := range change.stayed {
				assert.LessOrEqual(t, d, max(stayedPauseLimit, 3*coop.quiet),
					"%s, cooperative %s: partition %d stayed on its instance but paused %s (quiet noise %s)", tm.name, change.name, p, d, coop.quiet)
			}
		}
	}
	for _, line := range summary {
		t.Logf("summary: %s", line)
	}
}

// scalePauses are the pauses of one run of scale2To3To2.
type scalePauses struct {
	// quiet is the longest gap of any partition in the quiet time before
	// the first change: the noise.
	quiet   time.Duration
	out, in changePauses
	verdict verdict
}

func (s scalePauses) String() string {
	return fmt.Sprintf("quiet noise %s; %s; %s; %s", s.quiet.Round(time.Millisecond), s.out, s.in, s.verdict)
}

// changePauses are the longest pauses of the partitions through one
// change, those that moved to another instance and those that stayed.
type changePauses struct {
	name          string
	took          time.Duration
	moved, stayed map[int32]time.Duration
}

func (c changePauses) String() string {
	return fmt.Sprintf("%s (took %s): stayed %s, moved %s", c.name, c.took.Round(time.Millisecond), describePauses(c.stayed), describePauses(c.moved))
}

// describePauses gives the longest pause and every partition's.
func describePauses(pauses map[int32]time.Duration) string {
	if len(pauses) == 0 {
		return "none"
	}
	parts := make([]int32, 0, len(pauses))
	var longest time.Duration
	for p, d := range pauses {
		parts = append(parts, p)
		longest = max(longest, d)
	}
	slices.Sort(parts)
	each := make([]string, len(parts))
	for i, p := range parts {
		each[i] = fmt.Sprintf("%d:%s", p, pauses[p].Round(time.Millisecond))
	}
	return fmt.Sprintf("max %s [%s]", longest.Round(time.Millisecond), strings.Join(each, " "))
}

// scale2To3To2 runs instances a and b of a group configure sets up,
// starts c, stops c, all under load, and returns the pauses of every
// partition through both changes.
func scale2To3To2(t *testing.T, c *cluster, configure func(*counterGroup)) scalePauses {
	t.Helper()
	g := newCounterGroup(t, c, loadPartitions)
	configure(g)
	table := string(tableOf(g.group))
	c.createHistoryTable(table, g.partitions)

	// One after the other, as a deploy starts them: their heartbeats, and so
	// the moments they notice a rebalance, are not in step.
	a := g.start("a")
	g.waitAssigned(t, a)
	b := g.start("b")
	g.waitAssigned(t, a, b)
	ld := startLoad(t, c.brokers, g.input, loadKeys, loadPerTick, loadEvery)
	a.waitProcessed(t, 300)
	b.waitProcessed(t, 300)
	quietFrom := time.Now()
	ld.waitMore(t, 1500)

	before := owners(a, b)
	outFrom := time.Now()
	cc := g.start("c")
	g.waitAssigned(t, a, b, cc)
	cc.waitProcessed(t, 200)
	a.waitProcessed(t, a.processedNow()+200)
	b.waitProcessed(t, b.processedNow()+200)
	outTo := time.Now()
	ld.waitMore(t, 1500)

	during := owners(a, b, cc)
	inFrom := time.Now()
	cc.terminate(t)
	g.waitAssigned(t, a, b)
	a.waitProcessed(t, a.processedNow()+200)
	b.waitProcessed(t, b.processedNow()+200)
	inTo := time.Now()
	ld.waitMore(t, 1000)
	after := owners(a, b)

	acked, failed := ld.finish(t)
	require.Empty(t, failed, "sends failed on a healthy broker")
	c.waitConsumed(g.group, g.input, g.partitions)
	a.terminate(t)
	b.terminate(t)

	writes := tableWriteTimes(t, c, table, g.partitions)
	res := scalePauses{
		quiet:   longestGap(writes, quietFrom, outFrom, nil),
		out:     splitPauses("scale-out 2->3", writes, outFrom, outTo, before, during),
		in:      splitPauses("scale-in 3->2", writes, inFrom, inTo, during, after),
		verdict: compareCounts(readTable(t, c.brokers, tableOf(g.group)), acked),
	}
	require.Len(t, acked, loadKeys)
	res.verdict.requireExact(t)
	return res
}

// owners maps each partition to the instance whose last session holds it.
func owners(insts ...*instance) map[int32]string {
	m := make(map[int32]string)
	for _, inst := range insts {
		assigned, _, _ := inst.state()
		for _, p := range assigned {
			m[p] = inst.name
		}
	}
	return m
}

// splitPauses returns the longest pause of every partition from from to to,
// split by whether its owner changed from was to is.
func splitPauses(name string, writes map[int32][]time.Time, from, to time.Time, was, is map[int32]string) changePauses {
	c := changePauses{name: name, took: to.Sub(from), moved: make(map[int32]time.Duration), stayed: make(map[int32]time.Duration)}
	for p := range writes {
		d := longestGap(writes, from, to, &p)
		if was[p] == is[p] {
			c.stayed[p] = d
		} else {
			c.moved[p] = d
		}
	}
	return c
}

// longestGap returns the longest time between two consecutive writes of a
// partition (only, if not nil, else of any) that overlaps from to to; the
// time from the last write before to to counts too, for a partition that
// had not resumed by then.
func longestGap(writes map[int32][]time.Time, from, to time.Time, only *int32) time.Duration {
	var longest time.Duration
	for p, times := range writes {
		if only != nil && p != *only {
			continue
		}
		for i := 1; i < len(times); i++ {
			prev, next := times[i-1], times[i]
			if next.Before(from) || prev.After(to) {
				continue
			}
			longest = max(longest, next.Sub(prev))
		}
	}
	return longest
}

// tableWriteTimes reads the timestamps of every record of a counter table,
// by partition in offset order. The producer stamps a record when it sends
// it, right after the callback that wrote it, so the gaps between them are
// the partition's pauses in processing (under a steady load).
func tableWriteTimes(t *testing.T, c *cluster, table string, partitions int32) map[int32][]time.Time {
	t.Helper()
	consumer, err := sarama.NewConsumerFromClient(c.client)
	require.NoError(t, err)
	defer func() { require.NoError(t, consumer.Close()) }()
	writes := make(map[int32][]time.Time, partitions)
	for p := range partitions {
		end, err := c.client.GetOffset(table, p, sarama.OffsetNewest)
		require.NoError(t, err)
		if end == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(table, p, sarama.OffsetOldest)
		require.NoError(t, err)
		timeout := time.NewTimer(consumeDeadline)
	read:
		for {
			select {
			case msg := <-pc.Messages():
				writes[p] = append(writes[p], msg.Timestamp)
				if msg.Offset >= end-1 {
					break read
				}
			case err := <-pc.Errors():
				require.NoError(t, err)
			case <-timeout.C:
				t.Fatalf("reading %s/%d: not at its end %d within %s", table, p, end, consumeDeadline)
			}
		}
		timeout.Stop()
		require.NoError(t, pc.Close())
	}
	return writes
}
