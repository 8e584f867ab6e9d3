package goka

import "github.com/IBM/sarama"

// Assignment maps the partitions a processor instance was assigned in a
// rebalance to an offset. As in goka the offset is always sarama.OffsetNewest
// and carries no information: only the keys matter.
type Assignment map[int32]int64

// RebalanceCallback is called at the start of every consumer group session
// with the partitions this instance was assigned.
type RebalanceCallback func(a Assignment)

// DefaultRebalance is the RebalanceCallback that does nothing.
func DefaultRebalance(a Assignment) {}

func newAssignment(partitions []int32) Assignment {
	a := make(Assignment, len(partitions))
	for _, p := range partitions {
		a[p] = sarama.OffsetNewest
	}
	return a
}
