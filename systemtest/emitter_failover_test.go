package systemtest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// The emitter scenario's shape: how often the leader is killed, and the
// goroutines calling EmitSync side by side, each at most once per
// emitterEvery, so that sends are in flight whenever the leader dies.
const (
	emitterKillRounds = 2
	emitterSenders    = 4
	emitterEvery      = 5 * time.Millisecond
)

// TestClusterEmitterLeaderKill calls EmitSync from several goroutines, each
// call with a value of its own, on a topic replicated three times with
// min.insync.replicas=2, with the library's default producer configuration,
// and kills the topic's leader with SIGKILL, twice, starting it again in
// between. EmitSync may report errors while the leader is replaced; every
// send it reported as made must be in the topic afterwards.
func TestClusterEmitterLeaderKill(t *testing.T) {
	c := newReplicatedCluster(t)
	n := newNodes(t, c)
	topic := systemtest.UniqueName(t, "sends")
	c.createStream(topic, 1)
	watched := topicSet{topic: 1}
	n.waitISR(t, watched)

	em, err := goka.NewEmitter(c.brokers, goka.Stream(topic), new(codec.String),
		systemtest.EmitterOptions(systemtest.ClusterConfig(), systemtest.ClusterTopicManagerConfig())...)
	require.NoError(t, err)
	ss := make(senders, emitterSenders)
	for i := range ss {
		ss[i] = startSenderEvery(em, fmt.Sprintf("send%d", i), emitterEvery)
	}
	waitMade := func(what string, n int) {
		t.Helper()
		base, _ := ss.counts()
		waitFor(t, rebalanceDeadline, what, func() (bool, string) {
			made, failed := ss.counts()
			return made >= base+n, fmt.Sprintf("%d made, %d failed", made, failed)
		})
	}
	waitMade("EmitSync to get through before the first kill", 200)

	var rounds []string
	for round := 1; round <= emitterKillRounds; round++ {
		victim, _ := n.busiestLeader(t, watched)
		_, failedBefore := ss.counts()
		n.kill(t, victim)
		killedAt := time.Now() // the script returns once the process is gone
		failover := n.waitFailover(t, victim, killedAt, watched)
		waitMade("EmitSync to get through with the leader down", 200)
		_, failedDown := ss.counts()
		n.start(t, victim)
		n.waitISR(t, watched)
		waitMade("EmitSync to get through after the restart", 200)
		rounds = append(rounds, fmt.Sprintf("round %d: killed broker %d, the leader; new leader after %s, sends made again %s after the kill, %d failed meanwhile",
			round, victim, failover.Round(time.Millisecond), ss.resumedAfter(killedAt).Round(time.Millisecond), failedDown-failedBefore))
	}

	var made []string
	var failed int
	var slowest time.Duration
	errs := make(map[string]int)
	for _, s := range ss {
		m, f, sl := s.stop(t)
		made, failed, slowest = append(made, m...), failed+f, max(slowest, sl)
		s.mu.Lock()
		for e, k := range s.errs {
			errs[e] += k
		}
		s.mu.Unlock()
	}
	require.NoError(t, em.Finish())
	stored := readStrings(t, c, topic)
	var missing []string
	for _, id := range made {
		if !stored[id] {
			missing = append(missing, id)
		}
	}
	for _, r := range rounds {
		t.Log(r)
	}
	t.Logf("summary: emitter, leader SIGKILL x%d: EmitSync %d made, %d failed %v, slowest %s; %d made but missing, %d in the topic (%s)",
		emitterKillRounds, len(made), failed, errs, slowest.Round(time.Millisecond), len(missing), len(stored), strings.Join(rounds, "; "))
	require.Empty(t, missing, "EmitSync returned nil for sends that are not in the topic")
}

// senders are senders that run side by side.
type senders []*sender

func (ss senders) counts() (made, failed int) {
	for _, s := range ss {
		m, f, _ := s.counts()
		made, failed = made+m, failed+f
	}
	return made, failed
}

// resumedAfter returns how long after at every sender had made a send
// again, -1 if one has not.
func (ss senders) resumedAfter(at time.Time) time.Duration {
	var last time.Duration
	for _, s := range ss {
		d := s.firstMadeAfter(at)
		if d < 0 {
			return -1
		}
		last = max(last, d)
	}
	return last
}

// firstMadeAfter returns how long after at the first send was made, -1 if
// none was.
func (s *sender) firstMadeAfter(at time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.madeAt {
		if m.After(at) {
			return m.Sub(at)
		}
	}
	return -1
}
