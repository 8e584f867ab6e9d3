package goka

import (
	"errors"
	"fmt"

	"github.com/seed-b2c684ed/goka/internal/copartition"
)

// checkCopartitioned returns the partition count that topics share. A
// processor joins partition p of its inputs with partition p of its tables,
// which is only correct if every topic has the partitions 0..n-1 for one n.
//
// Every topic is asked for; a missing one fails with an error matching
// ErrTopicNotFound, otherwise partition sets that are not 0..n-1 fail with
// copartition.ErrPartitionGap and unequal counts with
// copartition.ErrNotCopartitioned, each message listing every topic with its
// partitions. No topics at all is copartition.ErrNoTopics.
func checkCopartitioned(tm TopicManager, topics []string) (int, error) {
	partitions := make(map[string][]int32, len(topics))
	seen := make(map[string]bool, len(topics))
	var errs []error
	for _, topic := range topics {
		if seen[topic] {
			continue
		}
		seen[topic] = true
		p, err := tm.Partitions(topic)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		partitions[topic] = p
	}
	if len(errs) > 0 {
		return 0, fmt.Errorf("checking co-partitioning of %v: %w", topics, errors.Join(errs...))
	}
	n, err := copartition.Check(partitions)
	if err != nil {
		return 0, fmt.Errorf("checking co-partitioning of %v: %w", topics, err)
	}
	return n, nil
}
