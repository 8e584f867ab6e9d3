package systemtest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// Deadlines of the scenarios. They are generous because a 2-core machine
// runs the broker, the race-enabled processes and the test at once; a
// healthy run meets each condition in a fraction of its deadline.
const (
	// rebalanceDeadline bounds a wait that spans a rebalance: a member that
	// leaves or joins, or one that died and must first time out.
	rebalanceDeadline = 90 * time.Second
	// consumeDeadline bounds the wait until a group has consumed a stream
	// to its end.
	consumeDeadline = 120 * time.Second
	// stopDeadline bounds a clean stop of a processor or process.
	stopDeadline = 60 * time.Second
	// pollEvery is how often a wait checks its condition.
	pollEvery = 50 * time.Millisecond
)

// waitFor polls cond until it holds, failing the test after d with what and
// cond's last explanation of why not.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	ticker := time.NewTicker(pollEvery)
	defer ticker.Stop()
	for {
		ok, why := cond()
		if ok {
			return
		}
		select {
		case <-ticker.C:
		case <-deadline.C:
			tb.Fatalf("timed out after %s waiting for %s: %s", d, what, why)
		}
	}
}

// cluster is the broker the scenarios run on, with the clients a test uses
// to set it up and to check it from outside the library.
type cluster struct {
	t       *testing.T
	brokers []string
	cfg     *sarama.Config
	client  sarama.Client
	admin   sarama.ClusterAdmin
	// replication is the replication factor of the topics the test creates.
	replication int16
}

// newCluster connects to the single broker of KAFKA_BROKERS.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	return connect(t, systemtest.Brokers(t), 1)
}

// newReplicatedCluster connects to the three brokers of KAFKA_CLUSTER_BROKERS;
// the topics a test creates there are replicated to all three.
func newReplicatedCluster(t *testing.T) *cluster {
	t.Helper()
	return connect(t, systemtest.ClusterBrokers(t), systemtest.ClusterReplication)
}

func connect(t *testing.T, brokers []string, replication int16) *cluster {
	t.Helper()
	cfg := systemtest.NewConfig()
	client, err := sarama.NewClient(brokers, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	admin, err := sarama.NewClusterAdminFromClient(client)
	require.NoError(t, err)
	// Closing the admin closes the client it was built from; the client's
	// second Close just reports that it is closed already.
	t.Cleanup(func() { _ = admin.Close() })
	return &cluster{t: t, brokers: brokers, cfg: cfg, client: client, admin: admin, replication: replication}
}

// createStream creates a delete-policy topic, deletes it at the end of the
// test, and waits until every partition has a leader.
func (c *cluster) createStream(topic string, partitions int32) {
	c.t.Helper()
	c.createTopic(topic, partitions, "delete")
}

// createTopic creates topic with the cleanup policy and waits for its
// leaders; the topic is deleted at the end of the test.
func (c *cluster) createTopic(topic string, partitions int32, policy string) {
	c.t.Helper()
	require.NoError(c.t, c.admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions:     partitions,
		ReplicationFactor: c.replication,
		ConfigEntries:     map[string]*string{"cleanup.policy": &policy},
	}, false))
	c.deleteLater(topic)
	c.waitLeaders(topic, partitions)
}

// deleteLater deletes topic when the test ends, so that a long session on
// one broker does not pile up topics; a failure is only logged.
func (c *cluster) deleteLater(topic string) {
	c.t.Cleanup(func() {
		if err := c.admin.DeleteTopic(topic); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			c.t.Logf("deleting topic %s: %v", topic, err)
		}
	})
}

// waitLeaders waits until the metadata shows a leader for every partition:
// a topic's leaders reach the broker's metadata cache a moment after it was
// created.
func (c *cluster) waitLeaders(topic string, partitions int32) {
	c.t.Helper()
	waitFor(c.t, 30*time.Second, "leaders of "+topic, func() (bool, string) {
		if err := c.client.RefreshMetadata(topic); err != nil {
			return false, err.Error()
		}
		for p := range partitions {
			if _, err := c.client.Leader(topic, p); err != nil {
				return false, fmt.Sprintf("partition %d: %v", p, err)
			}
		}
		return true, ""
	})
}

// waitOffsets waits until the broker answers offset requests for every
// partition of topic. While it loads its partitions after a restart it
// answers NOT_LEADER_OR_FOLLOWER, which the test's own clients, with their
// few retries, would report as a failure.
func (c *cluster) waitOffsets(topic string, partitions int32) {
	c.t.Helper()
	waitFor(c.t, 30*time.Second, "offsets of "+topic, func() (bool, string) {
		for p := range partitions {
			for _, at := range []int64{sarama.OffsetOldest, sarama.OffsetNewest} {
				if _, err := c.client.GetOffset(topic, p, at); err != nil {
					return false, fmt.Sprintf("partition %d: %v", p, err)
				}
			}
		}
		return true, ""
	})
}

// newest returns the high-water mark of every partition of topic.
func (c *cluster) newest(topic string, partitions int32) ([]int64, error) {
	hwms := make([]int64, partitions)
	for p := range partitions {
		hwm, err := c.client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("newest offset of %s/%d: %w", topic, p, err)
		}
		hwms[p] = hwm
	}
	return hwms, nil
}

// committed returns the offsets group committed for every partition of
// topic, -1 where it committed none.
func (c *cluster) committed(group, topic string, partitions int32) ([]int64, error) {
	ids := make([]int32, partitions)
	for p := range partitions {
		ids[p] = p
	}
	resp, err := c.admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ids})
	if err != nil {
		return nil, fmt.Errorf("offsets of group %s: %w", group, err)
	}
	offsets := make([]int64, partitions)
	for p := range partitions {
		offsets[p] = -1
		if block := resp.GetBlock(topic, p); block != nil && errors.Is(block.Err, sarama.ErrNoError) {
			offsets[p] = block.Offset
		}
	}
	return offsets, nil
}

// mustNewest is newest failing the test on an error.
func (c *cluster) mustNewest(topic string, partitions int32) []int64 {
	c.t.Helper()
	hwms, err := c.newest(topic, partitions)
	require.NoError(c.t, err)
	return hwms
}

// waitConsumed waits until group has committed every partition of topic up
// to its end: every message was processed and, since the library commits
// only after a message's table write was acknowledged, is in the table. It
// fails at once if one of the processors' runs given ends meanwhile.
func (c *cluster) waitConsumed(group, topic string, partitions int32, runs ...*run) {
	c.t.Helper()
	waitFor(c.t, consumeDeadline, "group "+group+" to consume "+topic, func() (bool, string) {
		for _, r := range runs {
			if !r.running() {
				c.t.Fatalf("%s ended while consuming %s: %v", r.name, topic, r.err)
			}
		}
		hwms, err := c.newest(topic, partitions)
		if err != nil {
			return false, err.Error()
		}
		return c.reached(group, topic, hwms)
	})
}

// waitCommitted waits until group has committed at least the given offsets
// of topic's partitions.
func (c *cluster) waitCommitted(group, topic string, offsets []int64) {
	c.t.Helper()
	waitFor(c.t, consumeDeadline, fmt.Sprintf("group %s to commit %s up to %v", group, topic, offsets), func() (bool, string) {
		return c.reached(group, topic, offsets)
	})
}

// reached reports whether group's committed offsets of topic are at least
// targets, and if not what they are.
func (c *cluster) reached(group, topic string, targets []int64) (bool, string) {
	offsets, err := c.committed(group, topic, int32(len(targets)))
	if err != nil {
		return false, err.Error()
	}
	for p := range targets {
		if offsets[p] < targets[p] {
			return false, fmt.Sprintf("committed %v, want %v", offsets, targets)
		}
	}
	return true, ""
}

// describeConfig returns one config of a topic as the broker reports it.
func (c *cluster) describeConfig(topic, name string) string {
	c.t.Helper()
	entries, err := c.admin.DescribeConfig(sarama.ConfigResource{
		Type:        sarama.TopicResource,
		Name:        topic,
		ConfigNames: []string{name},
	})
	require.NoError(c.t, err)
	for _, e := range entries {
		if e.Name == name {
			return e.Value
		}
	}
	c.t.Fatalf("topic %s has no config %s", topic, name)
	return ""
}

// partitionCount returns how many partitions topic has.
func (c *cluster) partitionCount(topic string) int {
	c.t.Helper()
	metas, err := c.admin.DescribeTopics([]string{topic})
	require.NoError(c.t, err)
	require.Len(c.t, metas, 1)
	require.ErrorIs(c.t, metas[0].Err, sarama.ErrNoError)
	return len(metas[0].Partitions)
}

// testLogger sends the library's log to the test's log, shown for failed
// tests and with -v.
type testLogger struct {
	t      *testing.T
	prefix string
}

func (l testLogger) Print(v ...interface{}) { l.t.Log(append([]interface{}{l.prefix}, v...)...) }
func (l testLogger) Println(v ...interface{}) {
	l.t.Log(append([]interface{}{l.prefix}, v...)...)
}
func (l testLogger) Printf(format string, v ...interface{}) {
	l.t.Logf(l.prefix+" "+format, v...)
}

// keyName is the key of the i-th of a scenario's keys.
func keyName(i int) string { return fmt.Sprintf("key-%03d", i) }

// tableOf is the group table of group.
func tableOf(group string) goka.Table { return goka.GroupTable(goka.Group(group)) }

// shortErr flattens an error for a one-line log.
func shortErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.ReplaceAll(err.Error(), "\n", " | ")
}
