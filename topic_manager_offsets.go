package goka

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/engine"
)

// The library's topic manager reads the offsets the check of a session's
// setup needs (see engine.ClaimOffsetsReader): a group stopped longer than
// an input's retention, or whose input was recreated, would otherwise
// resume wherever sarama's reset puts it.
var _ engine.ClaimOffsetsReader = (*topicManager)(nil)

// ClaimOffsets asks the group's coordinator for the committed offsets and
// the partitions' leaders for their oldest and newest offsets.
func (m *topicManager) ClaimOffsets(group string, claims map[string][]int32) (offsets map[engine.TopicPartition]engine.ClaimOffsets, err error) {
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
	offsets = make(map[engine.TopicPartition]engine.ClaimOffsets)
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
			offsets[engine.TopicPartition{Topic: topic, Partition: partition}] = engine.ClaimOffsets{Committed: block.Offset, Oldest: first, Newest: end}
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
