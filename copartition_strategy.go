package goka

import (
	"fmt"

	"github.com/IBM/sarama"

	"github.com/seed-b2c684ed/goka/internal/copartition"
)

var (
	// CopartitioningStrategy is the consumer-group balance strategy processors
	// need: a member gets the same partition numbers of every topic it
	// consumes, so partition p of the inputs, the joined tables and the group
	// table is processed in one place. DefaultConfig installs it.
	//
	// The sorted partitions are split into contiguous ranges over the members
	// sorted by ID. Planning fails if the topics have different partition
	// sets. Members that subscribe to different topics are tolerated, which a
	// rolling upgrade that adds a topic needs: each member then gets its range
	// of its own topics only, and partitions of a topic some members lack stay
	// unconsumed until every member has been upgraded.
	CopartitioningStrategy = &copartitioningStrategy{}

	// StrictCopartitioningStrategy is CopartitioningStrategy, except that
	// planning fails when members subscribe to different topic sets, which
	// usually means two programs share a group name. Use it when every member
	// of a group is replaced at once.
	//
	// Its Name is "copartition" too, as in goka: the name is the protocol the
	// members of a group agree on, so lenient and strict members, and goka
	// processors, can share a group, and the leader's strategy decides.
	StrictCopartitioningStrategy = &copartitioningStrategy{strict: true}
)

// copartitioningStrategyName is the group protocol name of both strategies.
const copartitioningStrategyName = "copartition"

type copartitioningStrategy struct {
	strict bool
}

// Name returns "copartition", the group protocol the members agree on.
func (s *copartitioningStrategy) Name() string { return copartitioningStrategyName }

// Plan assigns the partitions; the rules are in internal/copartition.
func (s *copartitioningStrategy) Plan(members map[string]sarama.ConsumerGroupMemberMetadata, topics map[string][]int32) (sarama.BalanceStrategyPlan, error) {
	subscriptions := make(map[string][]string, len(members))
	for id, meta := range members {
		subscriptions[id] = meta.Topics
	}
	plan, err := copartition.Assign(subscriptions, topics, s.strict)
	if err != nil {
		return nil, fmt.Errorf("balance strategy %s: %w", copartitioningStrategyName, err)
	}
	return sarama.BalanceStrategyPlan(plan), nil
}

// AssignmentData returns nil: members need nothing beyond their partitions.
func (s *copartitioningStrategy) AssignmentData(memberID string, topics map[string][]int32, generationID int32) ([]byte, error) {
	return nil, nil
}
