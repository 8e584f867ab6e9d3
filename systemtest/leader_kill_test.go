package systemtest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/systemtest"
)

// leaderKillRounds is how many brokers TestClusterLeaderKill kills, one at a
// time: the leader of the most group-table partitions in odd rounds, of the
// most input partitions in even ones.
const leaderKillRounds = 4

// TestClusterLeaderKill runs two counter processes on the three-broker
// cluster, every topic replicated three times with min.insync.replicas=2 and
// the library's default producer configuration, under a continuous keyed
// load, and kills with SIGKILL the broker that leads most partitions of the
// group table, then of the input, several times, each time starting it again
// and waiting until it is back in every ISR. After each round a fresh
// processor instance takes over half of the partitions and restores them from
// the table topic, so that a table write lost in the failover shows as a
// count that is short from then on.
//
// The verifier recomputes the count of every key from the sends Kafka
// acknowledged: none may be missing from the table. Counting one twice is
// allowed (at least once) and reported. It also reads the table topic's
// whole history: a sum missing below a key's highest is a table write that
// was acknowledged and then lost in a failover.
func TestClusterLeaderKill(t *testing.T) {
	leaderKill(t, false)
}

// TestClusterLeaderKillExactlyOnce is TestClusterLeaderKill with
// exactly-once processors, and one round that kills the leader of most
// partitions of Kafka's transaction log, so that the transaction
// coordinator moves under an open transaction. The verifier reads the table
// with read_committed, and every message must be counted exactly once; the
// committed history must hold every sum.
func TestClusterLeaderKillExactlyOnce(t *testing.T) {
	leaderKill(t, true)
}

// leaderKill is the leader-kill scenario, at least once or exactly once.
func leaderKill(t *testing.T, exactlyOnce bool) {
	c := newReplicatedCluster(t)
	n := newNodes(t, c)
	g := newCounterGroup(t, c, loadPartitions)
	g.exactlyOnce = exactlyOnce
	table := string(tableOf(g.group))
	c.createHistoryTable(table, g.partitions)

	a, b := g.startMember("a"), g.startMember("b0")
	g.waitShared(t, a, b)
	ld := startLoadWith(t, c.brokers, systemtest.ClusterConfig(), systemtest.ClusterTopicManagerConfig(),
		g.input, loadKeys, loadPerTick, loadEvery)
	a.waitProcessed(t, 200)
	b.waitProcessed(t, 200)
	// The group's first commit created Kafka's offsets topic.
	offsetParts, err := c.client.Partitions(offsetsTopic)
	require.NoError(t, err)
	watched := topicSet{g.input: g.partitions, table: g.partitions, offsetsTopic: int32(len(offsetParts))}
	if exactlyOnce {
		// The first transaction created Kafka's transaction log.
		watched[transactionsTopic] = transactionsTopicPartitions(t, c)
	}
	n.waitISR(t, watched)

	var rounds, failures []string
	for round := 1; round <= leaderKillRounds; round++ {
		what, target := "table", topicSet{table: g.partitions}
		switch {
		case exactlyOnce && round == 3:
			what, target = "transaction log", topicSet{transactionsTopic: transactionsTopicPartitions(t, c)}
		case round%2 == 0:
			what, target = "input", topicSet{g.input: g.partitions}
		}
		victim, led := n.busiestLeader(t, target)
		aBase, bBase := a.processed(), b.processed()
		n.kill(t, victim)
		killedAt := time.Now() // the script returns once the process is gone
		failover := n.waitFailover(t, victim, killedAt, watched)
		// The stream goes on with one broker down: two in-sync replicas
		// still acknowledge, and both processes keep counting.
		ld.waitMore(t, 300)
		a.waitProcessed(t, aBase+100)
		b.waitProcessed(t, bBase+100)
		degraded := time.Since(killedAt)
		n.start(t, victim)
		n.waitISR(t, watched)
		recovered := time.Since(killedAt)

		// Both members run (revived if they ended) before b's clean stop.
		g.waitShared(t, a, b)
		failures = append(failures, b.failures...)
		b.terminate(t)
		b = g.startMember(fmt.Sprintf("b%d", round))
		g.waitShared(t, a, b)
		b.waitProcessed(t, 100)
		rounds = append(rounds, fmt.Sprintf("round %d: killed broker %d, leader of %d %s partitions; new leaders after %s, load and processors went on for %s, ISRs full again after %s",
			round, victim, led, what, failover.Round(time.Millisecond), degraded.Round(time.Millisecond), recovered.Round(time.Millisecond)))
	}

	acked, failed := ld.finish(t)
	waitFor(t, consumeDeadline, "the group to consume the whole input", func() (bool, string) {
		a.revive(t)
		b.revive(t)
		hwms, err := c.newest(g.input, g.partitions)
		if err != nil {
			return false, err.Error()
		}
		return c.reached(g.group, g.input, hwms)
	})
	g.waitShared(t, a, b)
	failures = append(failures, a.failures...)
	failures = append(failures, b.failures...)
	a.terminate(t)
	b.terminate(t)

	isolation := sarama.ReadUncommitted
	if exactlyOnce {
		isolation = sarama.ReadCommitted
	}
	v := compareCounts(g.readCounts(t), acked)
	h := tableHistory(t, c, table, g.partitions, isolation)
	for _, r := range rounds {
		t.Log(r)
	}
	errs := make(map[string]int)
	for _, err := range failed {
		errs[shortErr(errors.Unwrap(err))]++
	}
	for _, f := range failures {
		t.Logf("a processor ended: %s", f)
	}
	t.Logf("summary: cluster leader SIGKILL x%d, %s: %s; %s; %d sends failed %v; %d processor processes ended with an error and were started again (%s)",
		leaderKillRounds, g.mode(), v, h, len(failed), errs, len(failures), strings.Join(rounds, "; "))
	require.Len(t, acked, loadKeys)
	g.requireCounted(t, v)
	require.Zero(t, h.missing, "acknowledged table writes lost: %s", h)
}

// transactionsTopicPartitions returns how many partitions Kafka's
// transaction log has; it exists once a transactional producer has started.
func transactionsTopicPartitions(t *testing.T, c *cluster) int32 {
	t.Helper()
	parts, err := c.client.Partitions(transactionsTopic)
	require.NoError(t, err, "Kafka's transaction log")
	return int32(len(parts))
}
