package goka

import (
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/copartition"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewProcessorRefusesBrokenTopics: NewProcessor checks the topics
// before anything runs and says which topic is wrong and how.
func TestNewProcessorRefusesBrokenTopics(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("two", 2)
	env.createTopic("three", 3)
	nop := func(Context, interface{}) {}
	build := func(gg *GroupGraph) error {
		_, err := NewProcessor(env.brokers, gg, env.options(storage.MemoryBuilder())...)
		return err
	}

	t.Run("inputs not co-partitioned", func(t *testing.T) {
		err := build(DefineGroup("g1", Input("two", new(codec.String), nop), Input("three", new(codec.String), nop)))
		require.ErrorIs(t, err, copartition.ErrNotCopartitioned)
		assert.Contains(t, err.Error(), "two")
		assert.Contains(t, err.Error(), "three")
	})

	t.Run("input and join not co-partitioned", func(t *testing.T) {
		err := build(DefineGroup("g2", Input("two", new(codec.String), nop), Join("three", new(codec.String))))
		require.ErrorIs(t, err, copartition.ErrNotCopartitioned)
	})

	t.Run("missing input", func(t *testing.T) {
		err := build(DefineGroup("g3", Input("absent", new(codec.String), nop)))
		require.ErrorIs(t, err, ErrTopicNotFound)
		assert.Contains(t, err.Error(), "absent")
	})

	t.Run("group table with another partition count", func(t *testing.T) {
		require.NoError(t, env.cluster.CreateTopic("g4-table", 3, map[string]string{"cleanup.policy": "compact"}))
		err := build(DefineGroup("g4", Input("two", new(codec.String), nop), Persist(new(codec.Int64))))
		require.ErrorIs(t, err, copartition.ErrNotCopartitioned)
		assert.Contains(t, err.Error(), "g4-table")
	})

	t.Run("loop with another partition count", func(t *testing.T) {
		env.createTopic("g5-loop", 3)
		err := build(DefineGroup("g5", Input("two", new(codec.String), nop), Loop(new(codec.String), nop)))
		require.ErrorIs(t, err, copartition.ErrNotCopartitioned)
		assert.Contains(t, err.Error(), "g5-loop")
	})

	t.Run("group table not compacted", func(t *testing.T) {
		require.NoError(t, env.cluster.CreateTopic("g6-table", 2, map[string]string{"cleanup.policy": "delete"}))
		err := build(DefineGroup("g6", Input("two", new(codec.String), nop), Persist(new(codec.Int64))))
		require.ErrorIs(t, err, ErrTableNotCompacted)
		assert.Contains(t, err.Error(), "g6-table")
		assert.Contains(t, err.Error(), "cleanup.policy=compact")
	})

	t.Run("group table compacted and deleted", func(t *testing.T) {
		require.NoError(t, env.cluster.CreateTopic("g7-table", 2, map[string]string{"cleanup.policy": "compact,delete"}))
		require.NoError(t, build(DefineGroup("g7", Input("two", new(codec.String), nop), Persist(new(codec.Int64)))))
	})

	t.Run("creates loop and compacted table", func(t *testing.T) {
		require.NoError(t, build(DefineGroup("g8", Input("three", new(codec.String), nop),
			Loop(new(codec.String), nop), Persist(new(codec.Int64)))))
		tm, err := TopicManagerBuilderWithConfig(env.config, env.tmConfig)(env.brokers)
		require.NoError(t, err)
		defer func() { require.NoError(t, tm.Close()) }()
		for _, topic := range []string{"g8-loop", "g8-table"} {
			partitions, err := tm.Partitions(topic)
			require.NoError(t, err)
			assert.Len(t, partitions, 3, topic)
		}
		proc := &Processor{graph: DefineGroup("g8"), log: wrapLogger(nil)}
		assert.NoError(t, proc.checkCompacted(tm, "g8-table"), "the created table is compacted")
		assert.ErrorIs(t, proc.checkCompacted(tm, "g8-loop"), ErrTableNotCompacted, "the check can fail")
	})
}
