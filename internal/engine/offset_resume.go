package engine

import (
	"fmt"
	"sort"

	"github.com/IBM/sarama"
)

// A group that was stopped longer than an input's retention finds its
// committed offset deleted; one whose input was recreated, or whose log was
// truncated (an unclean leader election), finds it past the end. sarama then
// starts the claim at Consumer.Offsets.Initial, the newest offset by
// default, and so skips every record still in the topic without a word.
// resumeInRange runs in Setup, after sarama read the committed offsets and
// before it starts the claims from them, and moves such a partition to the
// oldest offset still there: what retention deleted is lost either way, what
// is left is processed (again, where the log was truncated: at least once).

// ClaimOffsets are the committed offset of a claimed partition (-1 when the
// group has none) and the oldest and newest offsets the partition holds.
type ClaimOffsets struct {
	Committed, Oldest, Newest int64
}

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// ClaimOffsetsReader is implemented by the library's own topic manager. A
// TopicManager of the caller's (or the tester's) does not, and its
// processors keep sarama's reset.
type ClaimOffsetsReader interface {
	// ClaimOffsets asks the group's coordinator for the committed offsets
	// and the partitions' leaders for their oldest and newest offsets.
	ClaimOffsets(group string, claims map[string][]int32) (map[TopicPartition]ClaimOffsets, error)
}

// resumeInRange moves every claimed partition whose committed offset is
// below the oldest offset still in its topic, or past its newest, to the
// oldest offset, logs it and counts it, and reports whether it moved any. A
// partition without a committed offset (a new group, or one whose offsets
// expired) keeps starting at Consumer.Offsets.Initial. Errors are retried
// like a table restore in setup; the last one fails the setup rather than
// let sarama's silent reset happen. claims are the session's, or those a
// cooperative rebalance added to it.
func (g *Group) resumeInRange(session sarama.ConsumerGroupSession, claims map[string][]int32) (moved bool, _ error) {
	reader := g.cfg.Offsets
	if reader == nil || len(claims) == 0 {
		return false, nil
	}
	group := g.cfg.Plan.Group
	offsets, err := retrySetup(session.Context(), retryAll, func() (map[TopicPartition]ClaimOffsets, error) {
		return reader.ClaimOffsets(group, claims)
	}, func(err error) {
		g.cfg.Log.Printf("checking the committed offsets against the topics, retrying: %v", err)
	})
	if err != nil && session.Context().Err() != nil {
		// The session ended (a rebalance or a shutdown): not a failure. Its
		// claims do not start, and the next session checks again.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking the committed offsets of the claimed partitions against the offsets their topics hold: %w", err)
	}
	topics := make([]string, 0, len(claims))
	for topic := range claims {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		for _, partition := range claims[topic] {
			g.cfg.Metrics.OffsetChecked(topic, partition)
			o := offsets[TopicPartition{topic, partition}]
			log := g.cfg.ClaimLog(topic, partition)
			switch {
			case o.Committed < 0:
				continue
			case o.Committed < o.Oldest:
				// MarkOffset moves the session's offset forward only.
				session.MarkOffset(topic, partition, o.Oldest, "")
				log.Printf("topic %s partition %d: the committed offset %d is below the oldest offset %d still in the topic: "+
					"the records at offsets %d to %d were deleted (retention or DeleteRecords) before the group processed them; "+
					"resuming at the oldest offset %d instead of Consumer.Offsets.Initial",
					topic, partition, o.Committed, o.Oldest, o.Committed, o.Oldest-1, o.Oldest)
			case o.Committed > o.Newest:
				// ResetOffset moves it backward only.
				session.ResetOffset(topic, partition, o.Oldest, "")
				log.Printf("topic %s partition %d: the committed offset %d is past the newest offset %d: "+
					"the topic was recreated or its log truncated, and the group has not processed the records it holds now; "+
					"resuming at the oldest offset %d instead of Consumer.Offsets.Initial (records processed before a truncation are processed again)",
					topic, partition, o.Committed, o.Newest, o.Oldest)
			default:
				continue
			}
			g.cfg.Metrics.OffsetReset(topic, partition)
			moved = true
		}
	}
	return moved, nil
}
