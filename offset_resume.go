package goka

import (
	"errors"
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

// claimOffsets are the committed offset of a claimed partition (-1 when the
// group has none) and the oldest and newest offsets the partition holds.
type claimOffsets struct {
	committed, oldest, newest int64
}

type topicPartition struct {
	topic     string
	partition int32
}

// claimOffsetsReader is implemented by the library's own topic manager. A
// TopicManager of the caller's (or the tester's) does not, and its
// processors keep sarama's reset.
type claimOffsetsReader interface {
	claimOffsets(group string, claims map[string][]int32) (map[topicPartition]claimOffsets, error)
}

// claimOffsets asks the group's coordinator for the committed offsets and
// the partitions' leaders for their oldest and newest offsets.
func (m *topicManager) claimOffsets(group string, claims map[string][]int32) (offsets map[topicPartition]claimOffsets, err error) {
	defer func() {
		if err != nil {
			// The admin asks the leaders it has in its metadata, which a
			// leader failover makes stale (NOT_LEADER, or a dead broker's
			// refused connection) until something refreshes it, and the
			// group's coordinator it has cached: refresh both for the retry.
			topics := make([]string, 0, len(claims))
			for topic := range claims {
				topics = append(topics, topic)
			}
			if rerr := m.client.RefreshMetadata(topics...); rerr != nil {
				err = errors.Join(err, fmt.Errorf("refreshing the metadata of %v: %w", topics, rerr))
			}
			if rerr := m.client.RefreshCoordinator(group); rerr != nil {
				err = errors.Join(err, fmt.Errorf("looking up the coordinator of group %s: %w", group, rerr))
			}
		}
	}()
	committed, err := m.admin.ListConsumerGroupOffsets(group, claims)
	if err != nil {
		return nil, fmt.Errorf("fetching the committed offsets of group %s: %w", group, err)
	}
	oldest, err := m.listOffsets(claims, sarama.OffsetOldest)
	if err != nil {
		return nil, err
	}
	newest, err := m.listOffsets(claims, sarama.OffsetNewest)
	if err != nil {
		return nil, err
	}
	offsets = make(map[topicPartition]claimOffsets)
	var errs []error
	for topic, partitions := range claims {
		for _, partition := range partitions {
			block := committed.GetBlock(topic, partition)
			switch {
			case block == nil:
				errs = append(errs, fmt.Errorf("no committed offset of group %s for %s/%d in the answer: %w", group, topic, partition, sarama.ErrIncompleteResponse))
				continue
			case !errors.Is(block.Err, sarama.ErrNoError):
				errs = append(errs, fmt.Errorf("committed offset of group %s for %s/%d: %w", group, topic, partition, block.Err))
				continue
			}
			first, err := offsetOf(oldest, topic, partition, "oldest")
			if err != nil {
				errs = append(errs, err)
				continue
			}
			end, err := offsetOf(newest, topic, partition, "newest")
			if err != nil {
				errs = append(errs, err)
				continue
			}
			offsets[topicPartition{topic, partition}] = claimOffsets{committed: block.Offset, oldest: first, newest: end}
		}
	}
	return offsets, errors.Join(errs...)
}

// listOffsets asks the leaders of the claimed partitions for the offset at
// which (sarama.OffsetOldest or OffsetNewest), one request per leader.
func (m *topicManager) listOffsets(claims map[string][]int32, which int64) (map[string]map[int32]*sarama.OffsetResult, error) {
	query := make(map[string]map[int32]int64, len(claims))
	for topic, partitions := range claims {
		query[topic] = make(map[int32]int64, len(partitions))
		for _, partition := range partitions {
			query[topic][partition] = which
		}
	}
	res, err := m.admin.ListOffsets(query, nil)
	if err != nil {
		return nil, fmt.Errorf("listing the %s offsets of %v: %w", offsetTimeString(which), claims, err)
	}
	return res, nil
}

// offsetOf takes one partition's offset out of a ListOffsets answer.
func offsetOf(res map[string]map[int32]*sarama.OffsetResult, topic string, partition int32, which string) (int64, error) {
	r := res[topic][partition]
	switch {
	case r == nil:
		return -1, fmt.Errorf("no %s offset of %s/%d in the answer: %w", which, topic, partition, sarama.ErrIncompleteResponse)
	case r.Err != nil && !errors.Is(r.Err, sarama.ErrNoError):
		return -1, fmt.Errorf("%s offset of %s/%d: %w", which, topic, partition, r.Err)
	}
	return r.Offset, nil
}

// resumeInRange moves every claimed partition whose committed offset is
// below the oldest offset still in its topic, or past its newest, to the
// oldest offset, logs it and counts it. A partition without a committed offset (a new group, or one
// whose offsets expired) keeps starting at Consumer.Offsets.Initial. Errors
// are retried like a table restore in setup; the last one fails the setup
// rather than let sarama's silent reset happen.
func (p *Processor) resumeInRange(session sarama.ConsumerGroupSession) error {
	reader, ok := p.tmgr.(claimOffsetsReader)
	claims := session.Claims()
	if !ok || len(claims) == 0 {
		return nil
	}
	group := string(p.graph.Group())
	offsets, err := retrySetup(session.Context(), retryAll, func() (map[topicPartition]claimOffsets, error) {
		return reader.claimOffsets(group, claims)
	}, func(err error) { p.log.Printf("checking the committed offsets against the topics, retrying: %v", err) })
	if err != nil && session.Context().Err() != nil {
		// The session ended (a rebalance or a shutdown): not a failure. Its
		// claims do not start, and the next session checks again.
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking the committed offsets of the claimed partitions against the offsets their topics hold: %w", err)
	}
	topics := make([]string, 0, len(claims))
	for topic := range claims {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		for _, partition := range claims[topic] {
			p.metrics.OffsetChecked(topic, partition)
			o := offsets[topicPartition{topic, partition}]
			log := p.log.With("topic", topic).With("partition", partition)
			switch {
			case o.committed < 0:
				continue
			case o.committed < o.oldest:
				// MarkOffset moves the session's offset forward only.
				session.MarkOffset(topic, partition, o.oldest, "")
				log.Printf("topic %s partition %d: the committed offset %d is below the oldest offset %d still in the topic: "+
					"the records at offsets %d to %d were deleted (retention or DeleteRecords) before the group processed them; "+
					"resuming at the oldest offset %d instead of Consumer.Offsets.Initial",
					topic, partition, o.committed, o.oldest, o.committed, o.oldest-1, o.oldest)
			case o.committed > o.newest:
				// ResetOffset moves it backward only.
				session.ResetOffset(topic, partition, o.oldest, "")
				log.Printf("topic %s partition %d: the committed offset %d is past the newest offset %d: "+
					"the topic was recreated or its log truncated, and the group has not processed the records it holds now; "+
					"resuming at the oldest offset %d instead of Consumer.Offsets.Initial (records processed before a truncation are processed again)",
					topic, partition, o.committed, o.newest, o.oldest)
			default:
				continue
			}
			p.metrics.OffsetReset(topic, partition)
		}
	}
	return nil
}
