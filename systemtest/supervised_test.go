package systemtest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// member is a counter instance under a supervisor, as a process manager
// would run it in production: when the process ends by itself, with Run's
// error, it is started again under the same name, on its stores. The
// cluster scenarios use it because a processor may give up while a killed
// leader is replaced; what they check is that nothing acknowledged is lost
// through it, and they report how often it happened.
type member struct {
	g    *counterGroup
	name string
	inst *instance
	// before is what the instance's earlier processes counted.
	before int64
	// failures are the errors the earlier processes ended with.
	failures []string
	// repeats counts the last failure's repetitions in a row.
	repeats int
	last    string
}

// crashLoop is how often in a row a member may end with one and the same
// error before the test gives up on it: a process that can never start again
// is a failure of the scenario, not a fault to ride out.
const crashLoop = 3

func (g *counterGroup) startMember(name string) *member {
	g.t.Helper()
	return &member{g: g, name: name, inst: g.start(name)}
}

// revive starts the process again if it ended, and reports whether it did.
func (m *member) revive(t *testing.T) bool {
	t.Helper()
	if m.inst.alive() {
		return false
	}
	_, processed, failed := m.inst.state()
	if failed == "" {
		failed = fmt.Sprintf("exited: %v", m.inst.waitErr)
	}
	m.failures = append(m.failures, fmt.Sprintf("%s %s", time.Now().Format("15:04:05.000"), failed))
	if failed == m.last {
		m.repeats++
	} else {
		m.last, m.repeats = failed, 1
	}
	if m.repeats >= crashLoop {
		why := ""
		if strings.Contains(failed, "local store is ahead of the topic") {
			why = " (table writes Kafka acknowledged are gone from the topic: lost in the failover)"
		}
		t.Fatalf("member %s ended %d times in a row with the same error%s: %s", m.name, m.repeats, why, failed)
	}
	t.Logf("member %s ended (%s); starting it again", m.name, failed)
	m.before += processed
	m.inst = m.g.start(m.name)
	return true
}

// processed returns what the member counted over all its processes.
func (m *member) processed() int64 {
	return m.before + m.inst.processedNow()
}

// waitProcessed waits until the member has counted n messages over all its
// processes, reviving it when it ends.
func (m *member) waitProcessed(t *testing.T, n int64) {
	t.Helper()
	waitFor(t, rebalanceDeadline, fmt.Sprintf("member %s to process %d messages", m.name, n), func() (bool, string) {
		m.revive(t)
		got := m.processed()
		return got >= n, fmt.Sprintf("processed %d", got)
	})
}

// terminate stops the member's process cleanly; it must not have ended by
// itself since the last wait.
func (m *member) terminate(t *testing.T) {
	t.Helper()
	m.inst.terminate(t)
}

// waitShared waits until the members share every partition between them,
// as counterGroup.waitAssigned does for instances, reviving any that ends.
func (g *counterGroup) waitShared(t *testing.T, members ...*member) {
	t.Helper()
	waitFor(t, rebalanceDeadline, fmt.Sprintf("%d members to share the %d partitions", len(members), g.partitions), func() (bool, string) {
		seen := make(map[int32]string)
		var why []string
		ok := true
		for _, m := range members {
			if m.revive(t) {
				ok = false
			}
			assigned, _, _ := m.inst.state()
			why = append(why, fmt.Sprintf("%s=%v", m.name, assigned))
			if len(assigned) == 0 {
				ok = false
			}
			for _, p := range assigned {
				if other, dup := seen[p]; dup {
					ok = false
					why = append(why, fmt.Sprintf("partition %d in %s and %s", p, other, m.name))
				}
				seen[p] = m.name
			}
		}
		return ok && len(seen) == int(g.partitions), strings.Join(why, " ")
	})
}
