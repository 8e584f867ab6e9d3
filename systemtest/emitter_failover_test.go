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

// emitterKillRounds is how often TestClusterEmitterLeaderKill kills the
// leader of the emitter's topic.
const emitterKillRounds = 2

// TestClusterEmitterLeaderKill calls EmitSync in a loop, each call with a
// value of its own, on a topic replicated three times with
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
	s := startSender(em)
	waitMade := func(what string, n int) {
		t.Helper()
		base, _, _ := s.counts()
		waitFor(t, rebalanceDeadline, what, func() (bool, string) {
			made, failed, _ := s.counts()
			return made >= base+n, fmt.Sprintf("%d made, %d failed", made, failed)
		})
	}
	waitMade("EmitSync to get through before the first kill", 50)

	var rounds []string
	for round := 1; round <= emitterKillRounds; round++ {
		victim, _ := n.busiestLeader(t, watched)
		_, failedBefore, _ := s.counts()
		killedAt := time.Now()
		n.kill(t, victim)
		failover := n.waitFailover(t, victim, killedAt, watched)
		waitMade("EmitSync to get through with the leader down", 50)
		resumed := s.firstMadeAfter(killedAt)
		_, failedDown, _ := s.counts()
		n.start(t, victim)
		n.waitISR(t, watched)
		waitMade("EmitSync to get through after the restart", 50)
		rounds = append(rounds, fmt.Sprintf("round %d: killed broker %d, the leader; new leader after %s, first send made %s after the kill, %d failed meanwhile",
			round, victim, failover.Round(time.Millisecond), resumed.Round(time.Millisecond), failedDown-failedBefore))
	}

	made, failed, slowest := s.stop(t)
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
	s.mu.Lock()
	errs := s.errs
	s.mu.Unlock()
	t.Logf("summary: emitter, leader SIGKILL x%d: EmitSync %d made, %d failed %v, slowest %s; %d made but missing, %d in the topic (%s)",
		emitterKillRounds, len(made), failed, errs, slowest.Round(time.Millisecond), len(missing), len(stored), strings.Join(rounds, "; "))
	require.Empty(t, missing, "EmitSync returned nil for sends that are not in the topic")
}

// firstMadeAfter returns how long after at the first send was made.
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
