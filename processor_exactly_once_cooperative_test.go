package goka

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
)

// TestExactlyOnceCooperativeScaleOutAndIn: exactly-once members under the
// cooperative protocol, whose transactions commit only when a partition
// stops (an hour's interval). A third member joins two and leaves again.
// Under exactly-once an input offset is committed only by a transaction:
// the partitions the newcomer gained keep their committed offsets while it
// processes them with its transaction open, whatever sarama's auto-commit
// does meanwhile. Every commit carries the group's current generation,
// which a cooperative rebalance changes within one session, so no member
// is refused as a zombie, and the committed table counts every message
// once.
func TestExactlyOnceCooperativeScaleOutAndIn(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys = 6, 60
	env.createTopic("clicks", partitions)
	gg := DefineGroup("counter", Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	start := func(name string) *member {
		m := &member{name: name}
		m.proc = env.processor(gg, storage.MemoryBuilder(), env.eosOptions(time.Hour,
			WithCooperativeRebalancing(), WithRebalanceCallback(m.rebalanced))...)
		m.run = env.start(m.proc)
		return m
	}

	a, b := start("a"), start("b")
	waitShared(t, partitions, a, b)
	env.emitCounts("clicks", keys, 1, "click")
	eventually(t, "the first batch counted", func() bool { return countsAcross(uniformCounts(keys, 1), a.proc, b.proc) })

	c := start("c")
	waitShared(t, partitions, a, b, c)
	gained := c.assigned()
	require.NotEmpty(t, gained)
	base := make(map[int32]int64, len(gained))
	for _, p := range gained {
		base[p] = env.committedIfAny("counter", "clicks", p)
	}
	env.emitCounts("clicks", keys, 1, "click")
	eventually(t, "the second batch counted", func() bool { return countsAcross(uniformCounts(keys, 2), a.proc, b.proc, c.proc) })
	// Ten of sarama's auto-commit intervals: an offset marked outside the
	// transaction would be committed by now.
	window := time.Now().Add(10 * env.config.Consumer.Offsets.AutoCommit.Interval)
	for time.Now().Before(window) {
		for _, p := range gained {
			require.Equal(t, base[p], env.committedIfAny("counter", "clicks", p),
				"partition %d's offset was committed while the transaction holding its writes is open", p)
		}
	}

	require.NoError(t, c.run.stop(t), "the member that leaves commits its transaction")
	waitShared(t, partitions, a, b)
	env.emitCounts("clicks", keys, 1, "click")
	eventually(t, "the third batch counted", func() bool { return countsAcross(uniformCounts(keys, 3), a.proc, b.proc) })
	require.NoError(t, a.run.stop(t), "a's last commit, after two cooperative rebalances")
	require.NoError(t, b.run.stop(t), "b's last commit, after two cooperative rebalances")

	assert.Equal(t, uniformCounts(keys, 3), env.tableContent("counter-table", partitions, sarama.ReadCommitted))
	for p := int32(0); p < partitions; p++ {
		assert.Equal(t, env.newestOffset("clicks", p), env.committedIfAny("counter", "clicks", p), "partition %d committed to its end", p)
	}
}
