package systemtest_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
)

// historyCompactionLag keeps the cleaner away from a counter table whose
// history a test reads: a compacted table keeps only each key's last value.
const historyCompactionLag = "86400000" // a day, in ms

// historySentinel keys the record that marks where a committed read of a
// table's history ends.
const historySentinel = "history-sentinel"

// createHistoryTable creates a counter group's table before its processors
// do, compacted as the library requires but not within a test's lifetime.
func (c *cluster) createHistoryTable(table string, partitions int32) {
	c.t.Helper()
	compact, lag := "compact", historyCompactionLag
	require.NoError(c.t, c.admin.CreateTopic(table, &sarama.TopicDetail{
		NumPartitions:     partitions,
		ReplicationFactor: c.replication,
		ConfigEntries:     map[string]*string{"cleanup.policy": &compact, "min.compaction.lag.ms": &lag},
	}, false))
	c.deleteLater(table)
	c.waitLeaders(table, partitions)
}

// history is what a counter table's topic says about its writes.
type history struct {
	records int64
	// missing is the number of sums that no record holds although a later
	// sum of the same key does.
	missing     int64
	missingKeys []string
}

func (h history) String() string {
	s := fmt.Sprintf("%d table records, %d sums missing", h.records, h.missing)
	if len(h.missingKeys) > 0 {
		s += " (" + firstOf(h.missingKeys, 10) + ")"
	}
	return s
}

// tableHistory reads every record of a counter table's topic. A counter
// writes each key's sums one by one, 1, 2, 3 and on; a message processed
// again writes higher sums still, never a lower one again. So every sum from 1
// up to a key's highest must be in the topic. A gap is a write the processor
// built on that the topic does not hold: acknowledged and then lost in a
// failover, or overtaken by a later write of the key that a retry without
// idempotence reordered. The final counts hide both once a later write of the
// key has overwritten the gap.
//
// With read_committed it sees only committed transactions: aborted sums are
// written again by the transaction that replaces them, so the committed
// history too holds every sum. Such a reader never sees the last offset when
// it is a transaction marker, so the read ends at a sentinel record appended
// to each partition first (after the test's processors ended, the table
// takes no more writes).
func tableHistory(t *testing.T, c *cluster, table string, partitions int32, isolation sarama.IsolationLevel) history {
	t.Helper()
	config := sarama.NewConfig()
	config.Consumer.IsolationLevel = isolation
	config.Producer.Partitioner = sarama.NewManualPartitioner
	config.Producer.Return.Successes = true
	config.Producer.RequiredAcks = sarama.WaitForAll
	client, err := sarama.NewClient(c.brokers, config)
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close()) }()
	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	defer func() { require.NoError(t, consumer.Close()) }()
	var sentinels []int64
	if isolation == sarama.ReadCommitted {
		producer, err := sarama.NewSyncProducerFromClient(client)
		require.NoError(t, err)
		for p := range partitions {
			_, offset, err := producer.SendMessage(&sarama.ProducerMessage{Topic: table, Partition: p, Key: sarama.StringEncoder(historySentinel)})
			require.NoError(t, err, "the history sentinel of %s/%d", table, p)
			sentinels = append(sentinels, offset)
		}
		require.NoError(t, producer.Close())
	}
	sums := make(map[string]map[int64]bool)
	var h history
	dec := new(codec.Int64)
	for p := range partitions {
		end, err := client.GetOffset(table, p, sarama.OffsetNewest)
		require.NoError(t, err)
		if end == 0 {
			continue
		}
		last := end - 1
		if sentinels != nil {
			last = sentinels[p]
		}
		pc, err := consumer.ConsumePartition(table, p, sarama.OffsetOldest)
		require.NoError(t, err)
		timeout := time.NewTimer(consumeDeadline)
	read:
		for {
			select {
			case msg := <-pc.Messages():
				if sentinels != nil && msg.Offset >= last {
					break read // the sentinel
				}
				v, err := dec.Decode(msg.Value)
				require.NoError(t, err, "%s/%d offset %d", table, p, msg.Offset)
				key := string(msg.Key)
				if sums[key] == nil {
					sums[key] = make(map[int64]bool)
				}
				sums[key][v.(int64)] = true
				h.records++
				if msg.Offset >= last {
					break read
				}
			case err := <-pc.Errors():
				require.NoError(t, err)
			case <-timeout.C:
				t.Fatalf("reading %s/%d: not at offset %d within %s", table, p, last, consumeDeadline)
			}
		}
		timeout.Stop()
		require.NoError(t, pc.Close())
	}
	for key, seen := range sums {
		var top int64
		for v := range seen {
			top = max(top, v)
		}
		var gaps []int64
		for v := int64(1); v < top; v++ {
			if !seen[v] {
				gaps = append(gaps, v)
			}
		}
		if len(gaps) > 0 {
			h.missing += int64(len(gaps))
			h.missingKeys = append(h.missingKeys, fmt.Sprintf("%s:%v", key, firstInts(gaps, 5)))
		}
	}
	slices.Sort(h.missingKeys)
	return h
}

func firstInts(s []int64, n int) string {
	if len(s) <= n {
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("%v and %d more", s[:n], len(s)-n)
}
