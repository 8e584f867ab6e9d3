package systemtest_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/systemtest"
)

// Deadlines of the cluster scenarios' broker operations.
const (
	// failoverDeadline bounds the wait until the partitions a killed broker
	// led have new leaders: the controller fences it after its 3 s session.
	failoverDeadline = 60 * time.Second
	// isrDeadline bounds the wait until a restarted broker is back in the
	// ISR of every partition.
	isrDeadline = 2 * time.Minute
	// offsetsTopic is Kafka's topic of committed offsets, replicated like
	// the test topics: its leaders move with a kill too.
	offsetsTopic = "__consumer_offsets"
	// transactionsTopic is Kafka's transaction log, led by the transaction
	// coordinators.
	transactionsTopic = "__transaction_state"
)

// nodes drives the cluster's brokers through scripts/kafka.sh: it kills and
// restarts them by number, and finds the leaders of a test's partitions.
type nodes struct {
	c      *cluster
	script string
	// node maps a broker's id to the script's number for it.
	node map[int32]int
	// down are the brokers a test killed and has not restarted.
	down map[int32]bool
}

// newNodes checks that the cluster under test is the one scripts/kafka.sh
// runs, whose brokers it can kill: a skip otherwise, or under REQUIRE_KAFKA=1
// a failure, since CI starts the cluster with the script.
func newNodes(t *testing.T, c *cluster) *nodes {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "scripts", "kafka.sh"))
	require.NoError(t, err)
	n := &nodes{c: c, script: path, node: make(map[int32]int), down: make(map[int32]bool)}
	out, statusErr := n.run("cluster-status")
	byAddr := make(map[string]int)
	for _, line := range strings.Split(out, "\n") {
		// node N running pid=P broker=ADDR data=DIR
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "node" && f[2] == "running" {
			if num, err := strconv.Atoi(f[1]); err == nil {
				for _, kv := range f[3:] {
					if addr, ok := strings.CutPrefix(kv, "broker="); ok {
						byAddr[addr] = num
					}
				}
			}
		}
	}
	for _, b := range c.client.Brokers() {
		if num, ok := byAddr[b.Addr()]; ok {
			n.node[b.ID()] = num
		}
	}
	if statusErr != nil || len(n.node) != systemtest.ClusterReplication {
		msg := fmt.Sprintf("the cluster at %v is not the one scripts/kafka.sh runs (cluster-status: %s): not killing its brokers",
			c.brokers, strings.TrimSpace(out))
		if systemtest.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		for id := range n.down {
			if out, err := n.run("start-broker", strconv.Itoa(n.node[id])); err != nil {
				t.Errorf("starting broker %d again after the test: %v\n%s", id, err, out)
			}
		}
	})
	return n
}

// run runs the script with its arguments and returns its output.
func (n *nodes) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), brokerScriptDeadline)
	defer cancel()
	out, err := exec.CommandContext(ctx, n.script, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kafka.sh %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// kill kills broker id with SIGKILL.
func (n *nodes) kill(t *testing.T, id int32) {
	t.Helper()
	out, err := n.run("kill-broker", strconv.Itoa(n.node[id]))
	require.NoError(t, err, out)
	n.down[id] = true
}

// start starts broker id again on its data and waits until the cluster
// lists it; its replicas catch up afterwards (waitISR).
func (n *nodes) start(t *testing.T, id int32) {
	t.Helper()
	out, err := n.run("start-broker", strconv.Itoa(n.node[id]))
	require.NoError(t, err, out)
	delete(n.down, id)
}

// topicSet holds the partition count of each topic a scenario watches.
type topicSet map[string]int32

// leaders returns how many partitions of the topics each broker leads.
func (n *nodes) leaders(topics topicSet) (map[int32]int, error) {
	counts := make(map[int32]int)
	for topic, parts := range topics {
		if err := n.c.client.RefreshMetadata(topic); err != nil {
			return nil, fmt.Errorf("metadata of %s: %w", topic, err)
		}
		for p := range parts {
			leader, err := n.c.client.Leader(topic, p)
			if err != nil {
				return nil, fmt.Errorf("leader of %s/%d: %w", topic, p, err)
			}
			counts[leader.ID()]++
		}
	}
	return counts, nil
}

// busiestLeader returns the broker that leads the most partitions of the
// topics, the lowest id among equals, and how many it leads.
func (n *nodes) busiestLeader(t *testing.T, topics topicSet) (int32, int) {
	t.Helper()
	var counts map[int32]int
	waitFor(t, failoverDeadline, "the leaders of "+topics.String(), func() (bool, string) {
		var err error
		counts, err = n.leaders(topics)
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	ids := make([]int32, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	best := ids[0]
	for _, id := range ids[1:] {
		if counts[id] > counts[best] {
			best = id
		}
	}
	return best, counts[best]
}

// waitFailover waits until every partition of the topics has a leader other
// than the killed broker, and returns how long that took since killedAt.
func (n *nodes) waitFailover(t *testing.T, killed int32, killedAt time.Time, topics topicSet) time.Duration {
	t.Helper()
	waitFor(t, failoverDeadline, fmt.Sprintf("new leaders of %s after broker %d was killed", topics, killed), func() (bool, string) {
		counts, err := n.leaders(topics)
		if err != nil {
			return false, err.Error()
		}
		if counts[killed] > 0 {
			return false, fmt.Sprintf("broker %d still leads %d partitions", killed, counts[killed])
		}
		return true, ""
	})
	return time.Since(killedAt)
}

// waitISR waits until every partition of the topics has all its replicas
// in sync again: a restarted broker has caught up, and the next kill leaves
// two in-sync replicas behind.
func (n *nodes) waitISR(t *testing.T, topics topicSet) {
	t.Helper()
	waitFor(t, isrDeadline, "full ISRs of "+topics.String(), func() (bool, string) {
		for topic, parts := range topics {
			if err := n.c.client.RefreshMetadata(topic); err != nil {
				return false, err.Error()
			}
			for p := range parts {
				isr, err := n.c.client.InSyncReplicas(topic, p)
				if err != nil {
					return false, fmt.Sprintf("%s/%d: %v", topic, p, err)
				}
				if len(isr) < systemtest.ClusterReplication {
					return false, fmt.Sprintf("%s/%d has ISR %v", topic, p, isr)
				}
			}
		}
		return true, ""
	})
}

func (ts topicSet) String() string {
	names := make([]string, 0, len(ts))
	for topic := range ts {
		names = append(names, topic)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// TestClusterSmoke checks that the cluster is what the cluster scenarios
// assume: three brokers, each with the durable defaults scripts/kafka.sh
// configures.
func TestClusterSmoke(t *testing.T) {
	c := newReplicatedCluster(t)
	newNodes(t, c)
	require.Len(t, c.client.Brokers(), systemtest.ClusterReplication)
	want := map[string]string{
		"default.replication.factor":       "3",
		"min.insync.replicas":              "2",
		"unclean.leader.election.enable":   "false",
		"offsets.topic.replication.factor": "3",
	}
	for _, b := range c.client.Brokers() {
		names := make([]string, 0, len(want))
		for name := range want {
			names = append(names, name)
		}
		entries, err := c.admin.DescribeConfig(sarama.ConfigResource{
			Type: sarama.BrokerResource, Name: strconv.Itoa(int(b.ID())), ConfigNames: names,
		})
		require.NoError(t, err)
		got := make(map[string]string)
		for _, e := range entries {
			got[e.Name] = e.Value
		}
		require.Equal(t, want, got, "broker %d", b.ID())
	}
}
