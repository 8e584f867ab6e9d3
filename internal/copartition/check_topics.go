package copartition

import (
	"errors"
	"fmt"
)

// PartitionLister tells the partitions of a topic; the root package's
// TopicManager is one.
type PartitionLister interface {
	Partitions(topic string) ([]int32, error)
}

// CheckTopics returns the partition count that topics share, asking lister
// once per topic. A processor joins partition p of its inputs with
// partition p of its tables, which is only correct if every topic has the
// partitions 0..n-1 for one n.
//
// Every topic is asked for; the errors of missing ones are all returned
// (the root's topic manager makes them match ErrTopicNotFound), otherwise
// the errors are Check's.
func CheckTopics(lister PartitionLister, topics []string) (int, error) {
	partitions := make(map[string][]int32, len(topics))
	seen := make(map[string]bool, len(topics))
	var errs []error
	for _, topic := range topics {
		if seen[topic] {
			continue
		}
		seen[topic] = true
		p, err := lister.Partitions(topic)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		partitions[topic] = p
	}
	if len(errs) > 0 {
		return 0, fmt.Errorf("checking co-partitioning of %v: %w", topics, errors.Join(errs...))
	}
	n, err := Check(partitions)
	if err != nil {
		return 0, fmt.Errorf("checking co-partitioning of %v: %w", topics, err)
	}
	return n, nil
}
