package goka

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/IBM/sarama"
)

// WithGroupInstanceID makes the processor a static member of its consumer
// group (KIP-345), with id as its group instance id (sarama's
// Consumer.Group.InstanceId). Goka has no such option.
//
// A static member that stops, cleanly or not, does not leave the group:
// sarama's Close sends no LeaveGroup when an instance id is set, so the
// broker keeps the member and its partitions, which nobody processes,
// until Consumer.Group.Session.Timeout passes without a heartbeat. An
// instance started again with the same id within that time replaces the
// old member and gets its partitions back without a rebalance: the other
// members' sessions go on undisturbed, and the restarted instance finds its
// local stores as it left them. Only when the session timeout passes does
// the broker remove the member and rebalance the group. The session
// timeout is thus both the longest restart that moves nothing and how long
// the partitions of an instance that is really gone (a crash without
// restart, a scale-down) wait before another takes them over: choose it
// above a deploy's restart time (sarama's default is 10 s; the broker
// allows group.min.session.timeout.ms to group.max.session.timeout.ms, 6 s
// to 30 minutes by default), and keep Net.ReadTimeout above it. A member
// that will not come back can be removed at once with sarama's
// ClusterAdmin.RemoveMemberFromConsumerGroup. Instances that join or leave
// for good still rebalance the group as usual.
//
// id must be stable across restarts of one instance and unique among the
// running instances of the group, for example a Kubernetes StatefulSet
// pod's name. An instance that joins with an id in use takes it over and
// fences the one running: that one's Run ends with an error wrapping
// sarama.ErrFencedInstancedId once its attempts to rejoin give up. Kafka
// allows 1 to 249 ASCII letters, digits, '.', '_' and '-', but neither "."
// nor ".."; NewProcessor refuses anything else.
//
// The id reaches the consumer groups that DefaultConsumerGroupBuilder and
// ConsumerGroupBuilderWithConfig build for the processor, also when a
// builder of the caller's calls them, and overrides a
// Consumer.Group.InstanceId in their configuration. Static membership needs
// that configuration's Version >= sarama.V2_3_0_0 (DefaultConfig has
// V2_8_0_0): NewProcessor checks the global configuration when the builder
// is the default one; with ConsumerGroupBuilderWithConfig, Run checks the
// builder's configuration before it joins the group. A builder that builds
// from a configuration of its own cannot be given the id: the processor then
// runs as that configuration says, a dynamic member unless it sets
// Consumer.Group.InstanceId, and Run logs that the option had no effect
// (the tester's builder, with no consumer group, is one of these).
//
// The embedded broker (kafkatest) implements static membership as Kafka
// does: a restarted static member rejoins without a rebalance there too.
func WithGroupInstanceID(id string) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		o.groupInstanceID = id
		o.staticMember = true
	}
}

// minStaticMembershipVersion is the first Kafka version whose JoinGroup
// carries a group instance id (JoinGroup v5, Kafka 2.3); sarama refuses
// Consumer.Group.InstanceId below it, and staticMembershipVersion's message
// names it.
var minStaticMembershipVersion = sarama.V2_3_0_0

// maxGroupInstanceIDLength is Kafka's limit on a group instance id, the
// same as on a topic name.
const maxGroupInstanceIDLength = 249

// errGroupInstanceID marks an instance id or a configuration that static
// membership cannot work with.
var errGroupInstanceID = errors.New("invalid static membership")

// checkGroupInstanceID checks the id of WithGroupInstanceID against Kafka's
// rules, and the global configuration's version when the default builder
// will use it.
func (o *poptions) checkGroupInstanceID(gg *GroupGraph) error {
	if !o.staticMember {
		return nil
	}
	if err := validGroupInstanceID(o.groupInstanceID); err != nil {
		return fmt.Errorf("processor %q: WithGroupInstanceID(%q): %w", gg.Group(), o.groupInstanceID, err)
	}
	if isDefaultConsumerGroupBuilder(o.builders.consumerGroup) {
		if err := staticMembershipVersion(globalConfig()); err != nil {
			return fmt.Errorf("processor %q: WithGroupInstanceID(%q) with DefaultConsumerGroupBuilder: %w", gg.Group(), o.groupInstanceID, err)
		}
	}
	return nil
}

// validGroupInstanceID applies Kafka's rules for a group instance id, which
// the broker would otherwise enforce only when the processor joins.
func validGroupInstanceID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: the group instance id is empty", errGroupInstanceID)
	case id == "." || id == "..":
		return fmt.Errorf("%w: the group instance id cannot be %q", errGroupInstanceID, id)
	case len(id) > maxGroupInstanceIDLength:
		return fmt.Errorf("%w: the group instance id has %d characters, more than Kafka's %d", errGroupInstanceID, len(id), maxGroupInstanceIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: the group instance id has %q at byte %d; Kafka allows ASCII letters, digits, '.', '_' and '-'", errGroupInstanceID, c, i)
		}
	}
	return nil
}

// staticMembershipVersion refuses a configuration whose Kafka version has
// no static membership, with what to set instead of sarama's bare rule.
func staticMembershipVersion(config *sarama.Config) error {
	if config.Version.IsAtLeast(minStaticMembershipVersion) {
		return nil
	}
	return fmt.Errorf("%w: static membership (KIP-345) needs the consumer group's Version >= sarama.V2_3_0_0, not %s; set it (DefaultConfig has %s)",
		errGroupInstanceID, config.Version, sarama.V2_8_0_0)
}

func isDefaultConsumerGroupBuilder(b ConsumerGroupBuilder) bool {
	return b != nil && reflect.ValueOf(b).Pointer() == reflect.ValueOf(DefaultConsumerGroupBuilder).Pointer()
}

// buildConsumerGroup builds the processor's consumer group, handing the
// id of WithGroupInstanceID to the library's builders for the call.
func (p *Processor) buildConsumerGroup() (sarama.ConsumerGroup, error) {
	group, clientID := string(p.graph.Group()), p.opts.clientID
	build := func() (sarama.ConsumerGroup, error) {
		return p.opts.builders.consumerGroup(p.brokers, group, clientID)
	}
	if p.opts.cooperative {
		build = p.offerCooperative(build) // processor_cooperative.go
	}
	if !p.opts.staticMember {
		return build()
	}
	var used bool
	cg, err := instanceIDs.during(group, clientID, p.opts.groupInstanceID, &used, build)
	if err == nil && !used {
		p.log.Printf("WithGroupInstanceID(%q) has no effect: the consumer group builder does not build through DefaultConsumerGroupBuilder or ConsumerGroupBuilderWithConfig; "+
			"for static membership set Consumer.Group.InstanceId in its configuration", p.opts.groupInstanceID)
	}
	return cg, err
}

// instanceIDs hands group instance ids from processors to the library's
// consumer group builders. ConsumerGroupBuilder's signature is goka's and has
// no room for one, and a builder's configuration is hidden in its closure, so
// the processor offers the id for its group and client ID while it calls its
// builder, and a library builder asked for that group and client ID takes it.
var instanceIDs = &instanceIDHandoff{slots: make(map[handoffKey]*handoffSlot)}

type instanceIDHandoff struct {
	mu    sync.Mutex
	slots map[handoffKey]*handoffSlot
}

type handoffKey struct{ group, clientID string }

type handoffSlot struct {
	// turn is held (one token) by the build in progress for the key, so two
	// processors of one group and client ID never see each other's id.
	turn  chan struct{}
	id    string
	used  *bool
	users int
}

// during offers id to the library builders that fn calls for group and
// clientID, and reports in *used whether one took it.
func (h *instanceIDHandoff) during(group, clientID, id string, used *bool, fn func() (sarama.ConsumerGroup, error)) (sarama.ConsumerGroup, error) {
	key := handoffKey{group, clientID}
	h.mu.Lock()
	slot := h.slots[key]
	if slot == nil {
		slot = &handoffSlot{turn: make(chan struct{}, 1)}
		h.slots[key] = slot
	}
	slot.users++
	h.mu.Unlock()

	slot.turn <- struct{}{}
	h.mu.Lock()
	slot.id, slot.used = id, used
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		slot.id, slot.used = "", nil
		slot.users--
		if slot.users == 0 {
			delete(h.slots, key)
		}
		h.mu.Unlock()
		<-slot.turn
	}()
	return fn()
}

// take returns the id offered for group and clientID, "" if none.
func (h *instanceIDHandoff) take(group, clientID string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	slot := h.slots[handoffKey{group, clientID}]
	if slot == nil || slot.id == "" {
		return ""
	}
	*slot.used = true
	return slot.id
}

// applyGroupInstanceID sets the instance id a processor offers for group and
// clientID in config, a builder's own copy, and checks that config's version
// can carry it.
func applyGroupInstanceID(config *sarama.Config, group, clientID string) error {
	if err := applyCooperativeRebalancing(config, group, clientID); err != nil {
		return err
	}
	id := instanceIDs.take(group, clientID)
	if id == "" {
		return nil
	}
	if err := staticMembershipVersion(config); err != nil {
		return fmt.Errorf("building consumer group %s with WithGroupInstanceID(%q): %w", group, id, err)
	}
	config.Consumer.Group.InstanceId = id
	return nil
}
