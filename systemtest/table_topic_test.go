package systemtest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// TestGroupTableTopic checks the group table topic a processor creates on
// the real broker, and that NewProcessor refuses an existing one that would
// lose data or put keys in the wrong partitions.
func TestGroupTableTopic(t *testing.T) {
	const partitions = 6
	c := newCluster(t)
	input := systemtest.UniqueName(t, "input")
	c.createStream(input, partitions)

	// newProcessor builds a counter of input in group with tmc.
	newProcessor := func(t *testing.T, group string, tmc *goka.TopicManagerConfig) (*goka.Processor, error) {
		c.deleteLater(string(tableOf(group)))
		return goka.NewProcessor(c.brokers, systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil),
			append(systemtest.ProcessorOptions(systemtest.FastConfig(), tmc, storage.MemoryBuilder()),
				goka.WithLogger(testLogger{t, "processor"}))...)
	}
	// preCreate makes group's table topic as an operator might have.
	preCreate := func(group string, partitions int32, policy string) string {
		table := string(tableOf(group))
		c.createTopic(table, partitions, policy)
		return table
	}

	t.Run("created compacted with the inputs' partitions", func(t *testing.T) {
		group := systemtest.UniqueName(t, "group")
		_, err := newProcessor(t, group, systemtest.TopicManagerConfig())
		require.NoError(t, err)
		table := string(tableOf(group))
		assert.Equal(t, "compact", c.describeConfig(table, "cleanup.policy"))
		assert.Equal(t, partitions, c.partitionCount(table))
		t.Logf("summary: table topic %s: cleanup.policy=compact, %d partitions", table, partitions)
	})

	t.Run("delete policy refused when mismatches fail", func(t *testing.T) {
		group := systemtest.UniqueName(t, "group")
		table := preCreate(group, partitions, "delete")
		tmc := systemtest.TopicManagerConfig()
		tmc.MismatchBehavior = goka.TMConfigMismatchBehaviorFail
		_, err := newProcessor(t, group, tmc)
		require.Error(t, err)
		assert.ErrorContains(t, err, table)
		assert.ErrorContains(t, err, "cleanup.policy")
		t.Logf("refused: %v", err)
	})

	t.Run("delete policy refused by default", func(t *testing.T) {
		group := systemtest.UniqueName(t, "group")
		table := preCreate(group, partitions, "delete")
		_, err := newProcessor(t, group, systemtest.TopicManagerConfig())
		require.Error(t, err, "a group table with cleanup.policy=delete loses keys at retention; it must not be accepted")
		assert.ErrorContains(t, err, table)
		assert.ErrorContains(t, err, "cleanup.policy")
		t.Logf("refused: %v", err)
	})

	t.Run("other partition count refused", func(t *testing.T) {
		group := systemtest.UniqueName(t, "group")
		table := preCreate(group, partitions/2, "compact")
		_, err := newProcessor(t, group, systemtest.TopicManagerConfig())
		require.Error(t, err)
		assert.ErrorContains(t, err, table)
		t.Logf("refused: %v", err)
	})
}
