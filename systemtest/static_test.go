package systemtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// staticSessionTimeout is the session timeout of the static membership
// scenario: the longest restart that moves no partition. It leaves room for
// a restart of a race-enabled process on a busy machine.
const staticSessionTimeout = 20 * time.Second

// TestStaticMembershipRestart runs three counter processes under a keyed
// load and restarts each of them in turn on its stores, as a rolling deploy
// does, so that the group's leader is among them. After each restart it
// checks what the other two saw through their rebalance metric:
//
//   - static, stopped: static members (goka.WithGroupInstanceID), each
//     stopped with SIGTERM and started again within the session timeout.
//     The other two have no new session, every instance holds the
//     partitions it held before, and every message is counted exactly once;
//   - static, killed: the same with SIGKILL: no rebalance either; at least
//     once allows counting twice what a killed one had not committed;
//   - dynamic, stopped: the control, without the option. A stop leaves the
//     group and the start joins it: the other two rebalance, which shows
//     that the scenario sees a rebalance when there is one.
func TestStaticMembershipRestart(t *testing.T) {
	for _, tc := range []struct {
		name         string
		static, kill bool
	}{
		{"static, stopped", true, false},
		{"static, killed", true, true},
		{"dynamic, stopped", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			g := newCounterGroup(t, c, loadPartitions)
			g.static = tc.static
			g.sessionTimeout = staticSessionTimeout

			names := []string{"a", "b", "c"}
			insts := map[string]*instance{}
			for _, name := range names {
				insts[name] = g.start(name)
			}
			all := func() []*instance { return []*instance{insts["a"], insts["b"], insts["c"]} }
			g.waitAssigned(t, all()...)
			ld := startLoad(t, c.brokers, g.input, loadKeys, loadPerTick, loadEvery)
			for _, inst := range all() {
				inst.waitProcessed(t, 100)
			}

			var rounds []string
			otherRebalances := 0 // new sessions the others had, over all rounds
			for _, name := range names {
				// The group is settled: each of the three holds its share.
				before := map[string]membership{}
				for n, inst := range insts {
					before[n] = snapshot(inst)
				}
				stopped := time.Now()
				if tc.kill {
					insts[name].kill(t)
				} else {
					insts[name].terminate(t)
				}
				insts[name] = g.start(name)
				g.waitAssigned(t, all()...)
				back := time.Since(stopped)
				for _, inst := range all() {
					inst.waitProcessed(t, inst.processedNow()+200)
				}
				ld.waitMore(t, 500)

				round := fmt.Sprintf("%s assigned again after %s:", name, back.Round(time.Millisecond))
				for _, n := range names {
					after := snapshot(insts[n])
					round += fmt.Sprintf(" %s %s -> %s;", n, before[n], after)
					if n == name {
						if tc.static {
							require.Less(t, back, staticSessionTimeout, "the restart came within the session timeout")
							assert.Equal(t, before[n].assigned, after.assigned, "%s got its partitions back", n)
							assert.Equal(t, int64(1), after.rebalances, "the restarted %s joined into the running generation", n)
						}
						continue
					}
					otherRebalances += int(after.rebalances - before[n].rebalances)
					if tc.static {
						assert.Equal(t, before[n], after, "%s's session went on through %s's restart", n, name)
					}
				}
				rounds = append(rounds, round)
			}

			acked, failed := ld.finish(t)
			require.Empty(t, failed, "sends failed on a healthy broker")
			c.waitConsumed(g.group, g.input, g.partitions)
			for _, inst := range all() {
				inst.terminate(t)
			}
			v := compareCounts(readTable(t, c.brokers, tableOf(g.group)), acked)
			for _, r := range rounds {
				t.Log(r)
			}
			t.Logf("summary: %s, rolling restart of a, b, c: %d new sessions of the others; %s", tc.name, otherRebalances, v)

			require.Len(t, acked, loadKeys)
			if tc.kill {
				v.requireNoLoss(t)
			} else {
				v.requireExact(t)
			}
			if tc.static {
				assert.Zero(t, otherRebalances, "static members rebalance on no restart")
			} else {
				assert.Positive(t, otherRebalances, "dynamic members rebalance when one leaves and comes back")
			}
		})
	}
}

// staticExpiry is the session timeout of TestStaticMemberGonePastTheSessionTimeout.
const staticExpiry = 8 * time.Second

// TestStaticMemberGonePastTheSessionTimeout: a static member that stays
// away longer than the session timeout is removed by the broker only then,
// and its partitions wait for it until that moment: the other two take them
// over no sooner than the session timeout after its stop. Started again, it
// joins as a new member, and the counts stay exact.
func TestStaticMemberGonePastTheSessionTimeout(t *testing.T) {
	c := newCluster(t)
	g := newCounterGroup(t, c, loadPartitions)
	g.static = true
	g.sessionTimeout = staticExpiry

	a, b, cc := g.start("a"), g.start("b"), g.start("c")
	g.waitAssigned(t, a, b, cc)
	ld := startLoad(t, c.brokers, g.input, loadKeys, loadPerTick, loadEvery)
	for _, inst := range []*instance{a, b, cc} {
		inst.waitProcessed(t, 100)
	}
	before := snapshot(a).rebalances + snapshot(b).rebalances
	stopped := time.Now()
	cc.terminate(t)
	g.waitAssigned(t, a, b)
	takeover := time.Since(stopped)
	a.waitProcessed(t, a.processedNow()+200)
	b.waitProcessed(t, b.processedNow()+200)

	cc = g.start("c")
	g.waitAssigned(t, a, b, cc)
	cc.waitProcessed(t, 200)
	acked, failed := ld.finish(t)
	require.Empty(t, failed, "sends failed on a healthy broker")
	c.waitConsumed(g.group, g.input, g.partitions)
	after := snapshot(a).rebalances + snapshot(b).rebalances
	for _, inst := range []*instance{a, b, cc} {
		inst.terminate(t)
	}
	v := compareCounts(readTable(t, c.brokers, tableOf(g.group)), acked)
	t.Logf("summary: a static member stopped for good is replaced %s after its stop (session timeout %s); %d new sessions of the others; %s",
		takeover.Round(time.Millisecond), staticExpiry, after-before, v)

	require.Len(t, acked, loadKeys)
	v.requireExact(t)
	// The broker checks expiry on its own clock, from the member's last
	// heartbeat, which may precede the stop by one heartbeat interval.
	assert.GreaterOrEqual(t, takeover, staticExpiry-time.Second, "the partitions waited for the session timeout")
	assert.GreaterOrEqual(t, after-before, int64(4), "a and b rebalanced when c expired and when it joined again")
}

// membership is what an instance reported of its last session.
type membership struct {
	assigned   []int32
	rebalances int64
}

func (m membership) String() string {
	return fmt.Sprintf("%v after %d rebalances", m.assigned, m.rebalances)
}

func snapshot(i *instance) membership {
	assigned, _, _ := i.state()
	return membership{assigned: assigned, rebalances: i.rebalancesNow()}
}
