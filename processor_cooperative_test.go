package goka

import (
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/engine"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCooperativeCopartitioningStrategyDeclaresBothProtocols(t *testing.T) {
	t.Parallel()
	s, ok := CooperativeCopartitioningStrategy.(sarama.RebalanceProtocolBalanceStrategy)
	require.True(t, ok)
	assert.Equal(t, "copartition-cooperative", s.Name())
	assert.Equal(t, []sarama.RebalanceProtocol{sarama.RebalanceProtocolCooperative, sarama.RebalanceProtocolEager}, s.SupportedProtocols())

	// sarama takes it for the cooperative protocol, which needs 2.4.
	config := DefaultConfig()
	config.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{CooperativeCopartitioningStrategy}
	require.NoError(t, config.Validate())
	config.Version = sarama.V2_3_0_0
	require.ErrorContains(t, config.Validate(), "cooperative")
}

// TestCooperativeCopartitioningStrategyPlan: the plan reads what members own
// from their subscriptions, keeps it up to their share, and withholds what
// moves until its owner gave it up; every topic of a member gets the same
// partitions.
func TestCooperativeCopartitioningStrategyPlan(t *testing.T) {
	t.Parallel()
	topics := map[string][]int32{"in": {0, 1, 2, 3, 4, 5}, "table": {0, 1, 2, 3, 4, 5}}
	sub := []string{"in", "table"}
	owns := func(ps ...int32) []*sarama.OwnedPartition {
		return []*sarama.OwnedPartition{{Topic: "in", Partitions: ps}, {Topic: "table", Partitions: ps}}
	}

	fresh := map[string]sarama.ConsumerGroupMemberMetadata{"a": {Version: 1, Topics: sub}, "b": {Version: 1, Topics: sub}}
	plan, err := CooperativeCopartitioningStrategy.Plan(fresh, topics)
	require.NoError(t, err)
	ranges, err := CopartitioningStrategy.Plan(fresh, topics)
	require.NoError(t, err)
	assert.Equal(t, ranges, plan, "a new group gets the ranges")

	joined := map[string]sarama.ConsumerGroupMemberMetadata{
		"a": {Version: 1, Topics: sub, OwnedPartitions: owns(0, 1, 2)},
		"b": {Version: 1, Topics: sub, OwnedPartitions: owns(3, 4, 5)},
		"0": {Version: 1, Topics: sub},
	}
	plan, err = CooperativeCopartitioningStrategy.Plan(joined, topics)
	require.NoError(t, err)
	assert.Equal(t, sarama.BalanceStrategyPlan{
		"a": {"in": {0, 1}, "table": {0, 1}},
		"b": {"in": {3, 4}, "table": {3, 4}},
	}, plan, "2 and 5 move to the new member, once a and b gave them up")

	joined["a"] = sarama.ConsumerGroupMemberMetadata{Version: 1, Topics: sub, OwnedPartitions: owns(0, 1)}
	joined["b"] = sarama.ConsumerGroupMemberMetadata{Version: 1, Topics: sub, OwnedPartitions: owns(3, 4)}
	plan, err = CooperativeCopartitioningStrategy.Plan(joined, topics)
	require.NoError(t, err)
	assert.Equal(t, sarama.BalanceStrategyPlan{
		"a": {"in": {0, 1}, "table": {0, 1}},
		"b": {"in": {3, 4}, "table": {3, 4}},
		"0": {"in": {2, 5}, "table": {2, 5}},
	}, plan)

	_, err = CooperativeCopartitioningStrategy.Plan(joined, map[string][]int32{"in": {0, 1}, "table": {0}})
	require.ErrorContains(t, err, "copartition-cooperative")
}

func TestWithCooperativeRebalancingNeedsVersion(t *testing.T) {
	saved := globalConfig()
	defer ReplaceGlobalConfig(saved)
	config := DefaultConfig()
	config.Version = sarama.V2_3_0_0
	ReplaceGlobalConfig(config)

	_, err := NewProcessor(nil, countingGraph(), WithCooperativeRebalancing())
	require.ErrorIs(t, err, errCooperative)
	assert.Contains(t, err.Error(), "sarama.V2_4_0_0")
}

// TestWithCooperativeRebalancingReachesTheBuilders: the library's builders
// install the strategy for a processor that asks, and only for it.
func TestWithCooperativeRebalancingReachesTheBuilders(t *testing.T) {
	t.Parallel()
	config := DefaultConfig()
	var used bool
	_, _ = cooperativeGroups.during("g", "c", cooperativeOffer, &used, func() (sarama.ConsumerGroup, error) {
		require.NoError(t, applyGroupInstanceID(config, "g", "c"))
		return nil, nil
	})
	assert.True(t, used)
	assert.Equal(t, []sarama.BalanceStrategy{CooperativeCopartitioningStrategy}, config.Consumer.Group.Rebalance.GroupStrategies)

	other := DefaultConfig()
	require.NoError(t, applyGroupInstanceID(other, "g", "c"))
	assert.Equal(t, []sarama.BalanceStrategy{CopartitioningStrategy}, other.Consumer.Group.Rebalance.GroupStrategies)

	// With static membership too: both reach the builder.
	both := DefaultConfig()
	var usedID bool
	_, _ = instanceIDs.during("g", "c", "pod-1", &usedID, func() (sarama.ConsumerGroup, error) {
		return cooperativeGroups.during("g", "c", cooperativeOffer, &used, func() (sarama.ConsumerGroup, error) {
			return nil, applyGroupInstanceID(both, "g", "c")
		})
	})
	assert.True(t, usedID)
	assert.Equal(t, "pod-1", both.Consumer.Group.InstanceId)
	assert.Equal(t, []sarama.BalanceStrategy{CooperativeCopartitioningStrategy}, both.Consumer.Group.Rebalance.GroupStrategies)

	old := DefaultConfig()
	old.Version = sarama.V2_3_0_0
	_, err := cooperativeGroups.during("g", "c", cooperativeOffer, &used, func() (sarama.ConsumerGroup, error) {
		return nil, applyGroupInstanceID(old, "g", "c")
	})
	require.ErrorIs(t, err, errCooperative)
}

// TestCooperativeScaleOutAndInKeepsThePartitionsThatStay: on the embedded
// broker, a third member joins two and leaves again. With cooperative
// rebalancing the partitions that stay on a member are the same running
// partitions throughout (never stopped), only the moved ones change hands;
// the eager control restarts every partition. Counts stay exact.
func TestCooperativeScaleOutAndInKeepsThePartitionsThatStay(t *testing.T) {
	t.Parallel()
	for _, coop := range []bool{true, false} {
		mode := map[bool]string{true: "cooperative", false: "eager"}[coop]
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			env := newProcEnv(t)
			// A group name per mode: the library's builders take the option
			// by group and client ID.
			gg := DefineGroup(Group("counter-"+mode), Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
			const partitions, keys = 6, 60
			env.createTopic("clicks", partitions)
			start := func(name string) *member {
				m := &member{name: name}
				opts := []ProcessorOption{WithRebalanceCallback(m.rebalanced)}
				if coop {
					opts = append(opts, WithCooperativeRebalancing())
				}
				m.proc = env.processor(gg, storage.MemoryBuilder(), opts...)
				m.run = env.start(m.proc)
				return m
			}
			running := func(ms ...*member) map[int32]*engine.Partition {
				parts := map[int32]*engine.Partition{}
				for _, m := range ms {
					for _, p := range m.proc.partitions() {
						if p.Role() == engine.RoleActive {
							parts[p.ID()] = p
						}
					}
				}
				return parts
			}
			a, b := start("a"), start("b")
			waitShared(t, partitions, a, b)
			env.emitCounts("clicks", keys, 1, "click")
			eventually(t, "first batch counted", func() bool { return countsAcross(uniformCounts(keys, 1), a.proc, b.proc) })
			before := running(a, b)

			c := start("c")
			waitShared(t, partitions, a, b, c)
			env.emitCounts("clicks", keys, 1, "click")
			eventually(t, "counted with three", func() bool { return countsAcross(uniformCounts(keys, 2), a.proc, b.proc, c.proc) })
			stayed := running(a, b)
			moved := c.assigned()
			assert.Len(t, moved, 2)
			restarted := 0
			for n, p := range stayed {
				if before[n] != p {
					restarted++
				}
			}
			if coop {
				assert.Zero(t, restarted, "no partition that stayed was restarted")
				assert.Len(t, stayed, partitions-len(moved))
			} else {
				assert.Equal(t, len(stayed), restarted, "eager: every partition restarted")
			}

			before = running(a, b)
			require.NoError(t, c.run.stop(t))
			waitShared(t, partitions, a, b)
			env.emitCounts("clicks", keys, 1, "click")
			eventually(t, "counted after the leave", func() bool { return countsAcross(uniformCounts(keys, 3), a.proc, b.proc) })
			restarted = 0
			for n, p := range before {
				if running(a, b)[n] != p {
					restarted++
				}
			}
			if coop {
				assert.Zero(t, restarted, "no partition that stayed was restarted when c left")
			} else {
				assert.Equal(t, len(before), restarted)
			}
			require.NoError(t, a.run.stop(t))
			require.NoError(t, b.run.stop(t))
		})
	}
}

func TestCooperativeProtocolDetection(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		strategies []sarama.BalanceStrategy
		want       bool
	}{
		"default":            {[]sarama.BalanceStrategy{CopartitioningStrategy}, false},
		"cooperative":        {[]sarama.BalanceStrategy{CooperativeCopartitioningStrategy}, true},
		"upgrade step":       {[]sarama.BalanceStrategy{CooperativeCopartitioningStrategy, CopartitioningStrategy}, false},
		"sarama cooperative": {[]sarama.BalanceStrategy{sarama.NewBalanceStrategyCooperativeSticky()}, true},
		"none":               {nil, false},
	} {
		config := DefaultConfig()
		config.Consumer.Group.Rebalance.GroupStrategies = tc.strategies
		assert.Equal(t, tc.want, cooperativeProtocol(config), name)
	}
}

// TestCooperativeGroupHasItsOwnCoordinatorConnection: a cooperative group
// reaches its coordinator on a connection other than the one it fetches
// on, opens it again after sarama closed it, and closes it with itself.
func TestCooperativeGroupHasItsOwnCoordinatorConnection(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 1)
	config := copyConfig(env.config)
	config.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{CooperativeCopartitioningStrategy}
	cg, err := newConsumerGroup(env.brokers, "own-coordinator", config)
	require.NoError(t, err)
	owning, ok := cg.(*clientOwningGroup)
	require.True(t, ok, "%T", cg)
	client := owning.client.(*coordinatorClient)

	own, err := client.Coordinator("own-coordinator")
	require.NoError(t, err)
	shared, err := client.Client.Coordinator("own-coordinator")
	require.NoError(t, err)
	leader, err := client.Leader("clicks", 0)
	require.NoError(t, err)
	assert.Equal(t, shared.Addr(), own.Addr())
	assert.NotSame(t, shared, own)
	assert.NotSame(t, leader, own)
	_, err = own.Heartbeat(&sarama.HeartbeatRequest{GroupId: "own-coordinator", MemberId: "nobody"})
	require.NoError(t, err, "the connection works")

	require.NoError(t, own.Close())
	again, err := client.Coordinator("own-coordinator")
	require.NoError(t, err)
	assert.Same(t, own, again)
	_, err = again.Heartbeat(&sarama.HeartbeatRequest{GroupId: "own-coordinator", MemberId: "nobody"})
	require.NoError(t, err, "opened again")

	require.NoError(t, cg.Close())
	connected, _ := again.Connected()
	assert.False(t, connected)
	_, err = client.Coordinator("own-coordinator")
	require.Error(t, err)

	eager, err := newConsumerGroup(env.brokers, "shared-coordinator", copyConfig(env.config))
	require.NoError(t, err)
	_, owns := eager.(*clientOwningGroup)
	assert.False(t, owns, "an eager group keeps sarama's own client")
	require.NoError(t, eager.Close())
}

// TestCooperativeMemberCannotJoinAnEagerGroup: the broker refuses a member
// with the option into a group of members without it (the protocols'
// names differ); its Run fails saying why, and the running member is not
// disturbed.
func TestCooperativeMemberCannotJoinAnEagerGroup(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)
	gg := DefineGroup(Group("mixed"), Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	eager := &member{name: "eager"}
	eager.proc = env.processor(gg, storage.MemoryBuilder(), WithRebalanceCallback(eager.rebalanced))
	eager.run = env.start(eager.proc)
	waitShared(t, 2, eager)

	coop := env.processor(gg, storage.MemoryBuilder(), WithCooperativeRebalancing(), groupRetryTimeout(time.Second))
	err := env.start(coop).wait(t)
	require.ErrorIs(t, err, sarama.ErrInconsistentGroupProtocol)
	assert.Contains(t, err.Error(), "WithCooperativeRebalancing")
	assert.Equal(t, 1, eager.sessions(), "the eager member's session went on")
	require.NoError(t, eager.run.stop(t))
}

// TestCooperativeHotStandbyKeepsFollowing: with hot standby, a member
// joining moves two partitions; on the members that were there, every
// partition whose role did not change, active or standby, is the same
// running partition afterwards (a standby kept following), and the moved
// ones changed role. Counts stay exact.
func TestCooperativeHotStandbyKeepsFollowing(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys = 6, 60
	env.createTopic("clicks", partitions)
	gg := DefineGroup(Group("coop-standby"), Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	start := func(name string) *member {
		m := &member{name: name}
		m.proc = env.processor(gg, storage.MemoryBuilder(), WithRebalanceCallback(m.rebalanced), WithCooperativeRebalancing(), WithHotStandby())
		m.run = env.start(m.proc)
		return m
	}
	type slot struct {
		member    string
		partition int32
	}
	all := func(ms ...*member) map[slot]*engine.Partition {
		parts := map[slot]*engine.Partition{}
		for _, m := range ms {
			for _, p := range m.proc.partitions() {
				parts[slot{m.name, p.ID()}] = p
			}
		}
		return parts
	}
	a, b := start("a"), start("b")
	waitShared(t, partitions, a, b)
	env.emitCounts("clicks", keys, 1, "click")
	eventually(t, "first batch counted", func() bool { return countsEverywhere(uniformCounts(keys, 1), a.proc, b.proc) })
	before := all(a, b)
	require.Len(t, before, 2*partitions, "each member runs every partition, active or standby")

	c := start("c")
	waitShared(t, partitions, a, b, c)
	env.emitCounts("clicks", keys, 1, "click")
	eventually(t, "counted with three", func() bool { return countsEverywhere(uniformCounts(keys, 2), a.proc, b.proc, c.proc) })
	moved := c.assigned()
	require.Len(t, moved, 2)
	after := all(a, b)
	kept, changed := 0, 0
	for s, p := range after {
		if slices.Contains(moved, s.partition) && before[s].Role() == engine.RoleActive {
			assert.Equal(t, engine.RolePassive, p.Role(), "%v moved to c: standby now", s)
			changed++
			continue
		}
		assert.Same(t, before[s], p, "%v kept its role and was not restarted", s)
		assert.True(t, p.Recovered(), "%v runs", s)
		kept++
	}
	assert.Equal(t, 2, changed)
	assert.Equal(t, 2*partitions-2, kept)
	require.NoError(t, c.run.stop(t))
	require.NoError(t, a.run.stop(t))
	require.NoError(t, b.run.stop(t))
}

// countsEverywhere checks want against every processor that holds a key,
// active or standby, once they all caught up.
func countsEverywhere(want map[string]int64, procs ...*Processor) bool {
	for key, n := range want {
		holders := 0
		for _, proc := range procs {
			v, err := proc.Get(key)
			if err != nil || v == nil {
				continue
			}
			holders++
			if v.(int64) != n {
				return false
			}
		}
		if holders == 0 {
			return false
		}
	}
	return true
}
