package goka

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// WithCooperativeRebalancing makes the processor's consumer group rebalance
// with the incremental cooperative protocol (KIP-429) and
// CooperativeCopartitioningStrategy, so that an instance that joins or
// leaves stops only the partitions that move: the others keep processing
// through the rebalance. Goka has no such option; without it a processor
// rebalances eagerly, as goka does: every instance stops every partition
// (stopping waits for the writes in flight and commits), the group is
// formed anew, and every partition starts again, restoring what changed of
// its tables.
//
// Under the cooperative protocol a member keeps its partitions while the
// group agrees on a new plan. A partition that moves is first stopped and
// committed by its old owner (which then rejoins) and only then handed to
// the new one, in a second, quick rebalance; partitions that stay are not
// touched, keep their tables open and their row caches, and, with
// WithHotStandby, the partitions that stay passive keep following. The
// processor stays Running throughout, and the rebalance callback is called
// with the instance's partitions after each change (a change may come in
// two steps). Partitions that move pay what they pay under the eager
// protocol, the old owner's stop and the new owner's restore, and wait for
// the second rebalance, which the joining instance notices only at its next
// heartbeat: up to Consumer.Group.Heartbeat.Interval more (sarama's default
// is 3 s; a shorter interval, within a third of the session timeout, cuts
// it). The group's requests go to the coordinator on a connection of their
// own, since a broker answers one connection's requests in order and a
// JoinGroup waiting for the other members would hold up the fetches behind
// it.
//
// Measured on one local Kafka 4.4 broker (6 partitions, about 500 messages a
// second, two instances, a third joining and leaving again; longest pause
// per partition, quiet noise about 40 ms): the eager protocol paused every
// partition for 126-152 ms at each change (with kept stores and heartbeats
// in step, which an eager rebalance leaves them in); the cooperative
// protocol paused the partitions that stayed 31-48 ms through the join (the
// noise) and 85-115 ms through the leave, and the moved ones 0.4-0.5 s with
// a 300 ms heartbeat, 3.1 s with sarama's default 3 s. A partition whose instance leaves waits for the
// others' next heartbeat under either protocol (up to 2.2 s eager, 3.1 s
// cooperative, with 3 s). The option stays off by default for that, and
// because a running group cannot mix the protocols.
//
// Every member of a group must use the same protocol: a member with this
// option offers the "copartition-cooperative" protocol only, and the broker
// refuses it into a group whose members offer "copartition" (the default),
// so its Run fails after the group retry timeout with an error wrapping
// sarama.ErrInconsistentGroupProtocol (as does a member without the option
// that joins a group of members with it). Switch a running group by
// stopping all its instances, or without downtime in two rolling deploys:
// first every instance with a ConsumerGroupBuilderWithConfig whose
// Consumer.Group.Rebalance.GroupStrategies lists
// CooperativeCopartitioningStrategy and CopartitioningStrategy (the group
// still rebalances eagerly), then every instance with this option.
//
// The option reaches the consumer groups that DefaultConsumerGroupBuilder
// and ConsumerGroupBuilderWithConfig build for the processor (also when a
// builder of the caller's calls them) and replaces their GroupStrategies. It
// needs the configuration's Version >= sarama.V2_4_0_0 (DefaultConfig has
// V2_8_0_0): NewProcessor checks the global configuration when the builder
// is the default one; with ConsumerGroupBuilderWithConfig, Run checks the
// builder's configuration before it joins the group. A builder that builds
// from a configuration of its own gets nothing: the processor runs with its
// strategies, and Run logs that the option had no effect. The engine
// follows whichever protocol the group runs, so such a builder may also
// install CooperativeCopartitioningStrategy itself.
//
// NewProcessor refuses it beside WithExactlyOnce: a transaction committed
// while a cooperative rebalance rejoins the group can carry the generation
// the group just left, and is refused.
//
// The embedded broker (kafkatest) runs the cooperative protocol as Kafka
// does: the protocol lives in the clients, the broker only relays the
// members' subscriptions and the leader's plan.
func WithCooperativeRebalancing() ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		o.cooperative = true
	}
}

// minCooperativeVersion is the first Kafka version whose subscriptions
// carry the partitions a member owns (KIP-429); sarama refuses a
// cooperative strategy below it.
var minCooperativeVersion = sarama.V2_4_0_0

// errCooperative marks a configuration the cooperative protocol cannot
// work with.
var errCooperative = errors.New("invalid cooperative rebalancing")

// errCooperativeExactlyOnce refuses WithCooperativeRebalancing beside
// WithExactlyOnce. sarama runs a cooperative member's partitions on while
// it rejoins the group, and gives the session its new generation only once
// the SyncGroup answered; the broker moves the group to it when the join
// completes. A transaction that adds its offsets in between carries the
// generation just left, the group coordinator refuses them, and the
// transaction must abort: the instance stops as if fenced. On Kafka 4.4 one
// scale-out in seven met that window. The eager protocol ends the session
// (and commits) before it rejoins, so it has no such window.
var errCooperativeExactlyOnce = fmt.Errorf("%w: WithExactlyOnce cannot be combined with it: a transaction committed while a cooperative rebalance rejoins the group carries the generation the group just left and is refused; use the eager protocol (the default) with exactly-once", errCooperative)

// checkCooperative refuses the cooperative protocol with exactly-once, and
// checks the global configuration's version when the default builder will
// use it.
func (o *poptions) checkCooperative(gg *GroupGraph) error {
	if o.cooperative && o.exactlyOnce && !o.tester {
		return fmt.Errorf("processor %q: %w", gg.Group(), errCooperativeExactlyOnce)
	}
	if !o.cooperative || !isDefaultConsumerGroupBuilder(o.builders.consumerGroup) {
		return nil
	}
	if err := cooperativeVersion(globalConfig()); err != nil {
		return fmt.Errorf("processor %q: WithCooperativeRebalancing with DefaultConsumerGroupBuilder: %w", gg.Group(), err)
	}
	return nil
}

// cooperativeVersion refuses a configuration whose Kafka version has no
// cooperative protocol.
func cooperativeVersion(config *sarama.Config) error {
	if config.Version.IsAtLeast(minCooperativeVersion) {
		return nil
	}
	return fmt.Errorf("%w: the cooperative protocol (KIP-429) needs the consumer group's Version >= sarama.V2_4_0_0, not %s; set it (DefaultConfig has %s)",
		errCooperative, config.Version, sarama.V2_8_0_0)
}

// cooperativeGroups hands WithCooperativeRebalancing to the library's
// consumer group builders, as instanceIDs hands the group instance id (see
// there why a handoff).
var cooperativeGroups = &instanceIDHandoff{slots: make(map[handoffKey]*handoffSlot)}

// cooperativeOffer is what the processor offers through cooperativeGroups:
// any non-empty string would do.
const cooperativeOffer = "cooperative"

// offerCooperative wraps the build of the processor's consumer group so
// that the library's builders it calls install the cooperative strategy.
func (p *Processor) offerCooperative(build func() (sarama.ConsumerGroup, error)) func() (sarama.ConsumerGroup, error) {
	group, clientID := string(p.graph.Group()), p.opts.clientID
	return func() (sarama.ConsumerGroup, error) {
		var used bool
		cg, err := cooperativeGroups.during(group, clientID, cooperativeOffer, &used, build)
		if err != nil {
			return nil, err
		}
		if !used {
			p.log.Printf("WithCooperativeRebalancing has no effect: the consumer group builder does not build through DefaultConsumerGroupBuilder or ConsumerGroupBuilderWithConfig; " +
				"for cooperative rebalancing set Consumer.Group.Rebalance.GroupStrategies to CooperativeCopartitioningStrategy in its configuration")
		}
		return protocolHint{cg}, nil
	}
}

// protocolHint says what the broker's refusal of a member whose protocols
// no other member offers means for a processor with the option.
type protocolHint struct{ sarama.ConsumerGroup }

// Consume wraps sarama.ErrInconsistentGroupProtocol with the likely cause.
func (g protocolHint) Consume(ctx context.Context, topics []string, handler sarama.ConsumerGroupHandler) error {
	err := g.ConsumerGroup.Consume(ctx, topics, handler)
	if errors.Is(err, sarama.ErrInconsistentGroupProtocol) {
		return fmt.Errorf("joining a group whose members rebalance with another protocol: every member of a group needs WithCooperativeRebalancing, or none (its doc says how to switch a running group): %w", err)
	}
	return err
}

// applyCooperativeRebalancing installs CooperativeCopartitioningStrategy in
// config, a builder's own copy, when a processor offers it for group and
// clientID.
func applyCooperativeRebalancing(config *sarama.Config, group, clientID string) error {
	if cooperativeGroups.take(group, clientID) == "" {
		return nil
	}
	if err := cooperativeVersion(config); err != nil {
		return fmt.Errorf("building consumer group %s with WithCooperativeRebalancing: %w", group, err)
	}
	// The deprecated single strategy, if set, would win over the list.
	config.Consumer.Group.Rebalance.Strategy = nil
	config.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{CooperativeCopartitioningStrategy}
	return nil
}
