package goka

import (
	"fmt"

	"github.com/IBM/sarama"

	"github.com/seed-b2c684ed/goka/internal/copartition"
)

// CooperativeCopartitioningStrategy is the balance strategy of
// WithCooperativeRebalancing: CopartitioningStrategy's co-partitioning (a
// member gets the same partition numbers of every topic it consumes) for the
// incremental cooperative rebalance protocol (KIP-429), sticky, so that a
// rebalance moves only the partitions it must.
//
// Each member keeps the partitions it owns up to its even share; the
// partitions of a member that left and those others give up to a new member
// move, nothing else does. A partition that moves from one member to
// another is withheld from the new owner until the old one has stopped it
// and rejoined: the group rebalances twice, and the partitions that stay
// run throughout. With nobody owning anything (a new group) the plan is
// CopartitioningStrategy's ranges.
//
// Its group protocol name is "copartition-cooperative": members of one
// group must agree on a name, so a group cannot mix it with
// CopartitioningStrategy's members, which offer "copartition" only. It
// supports the eager protocol too, which sarama uses when another strategy
// in Consumer.Group.Rebalance.GroupStrategies supports only that; listing
// both strategies lets a running group switch by two rolling deploys (see
// WithCooperativeRebalancing). It needs Kafka 2.4 (Version >= V2_4_0_0).
var CooperativeCopartitioningStrategy sarama.BalanceStrategy = &cooperativeCopartitioningStrategy{}

// cooperativeCopartitioningStrategyName is the group protocol name of
// CooperativeCopartitioningStrategy.
const cooperativeCopartitioningStrategyName = "copartition-cooperative"

type cooperativeCopartitioningStrategy struct{}

// Name returns "copartition-cooperative".
func (s *cooperativeCopartitioningStrategy) Name() string {
	return cooperativeCopartitioningStrategyName
}

// SupportedProtocols declares both protocols: cooperative by preference,
// eager while some strategy of the configuration knows no other.
func (s *cooperativeCopartitioningStrategy) SupportedProtocols() []sarama.RebalanceProtocol {
	return []sarama.RebalanceProtocol{sarama.RebalanceProtocolCooperative, sarama.RebalanceProtocolEager}
}

// Plan assigns the partitions from what the members report they own; the
// rules are in internal/copartition (AssignSticky).
func (s *cooperativeCopartitioningStrategy) Plan(members map[string]sarama.ConsumerGroupMemberMetadata, topics map[string][]int32) (sarama.BalanceStrategyPlan, error) {
	plan, err := copartition.AssignSticky(stickyMembers(members), topics, false)
	if err != nil {
		return nil, fmt.Errorf("balance strategy %s: %w", cooperativeCopartitioningStrategyName, err)
	}
	return sarama.BalanceStrategyPlan(plan), nil
}

// AssignmentData returns nil: the members report what they own in their
// subscriptions (KIP-429), which is all the plan needs.
func (s *cooperativeCopartitioningStrategy) AssignmentData(memberID string, topics map[string][]int32, generationID int32) ([]byte, error) {
	return nil, nil
}

// stickyMembers turns the members' subscriptions into the partition numbers
// they own, whatever the topic.
func stickyMembers(members map[string]sarama.ConsumerGroupMemberMetadata) map[string]copartition.Member {
	out := make(map[string]copartition.Member, len(members))
	for id, meta := range members {
		m := copartition.Member{Topics: meta.Topics, Generation: -1}
		if meta.Version >= 2 {
			m.Generation = meta.GenerationID
		}
		seen := make(map[int32]bool)
		for _, owned := range meta.OwnedPartitions {
			if owned == nil {
				continue
			}
			for _, p := range owned.Partitions {
				if !seen[p] {
					seen[p] = true
					m.Owned = append(m.Owned, p)
				}
			}
		}
		out[id] = m
	}
	return out
}
