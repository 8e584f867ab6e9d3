package goka

import (
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tableRecovery sums, over the partitions of a running processor, how many
// group table records each restored, and checks every restore reached the
// high-water mark it started with.
func tableRecovery(t *testing.T, proc *Processor) (records uint) {
	t.Helper()
	for partition, s := range proc.Stats().Group {
		require.NotNil(t, s.TableStats, "partition %d has a table", partition)
		assert.Equal(t, PartitionRunning, s.TableStats.Status, "partition %d", partition)
		assert.Equal(t, s.TableStats.Recovery.Hwm-1, s.TableStats.Recovery.Offset, "partition %d restored to its hwm", partition)
		records += s.TableStats.Input.Count
	}
	return records
}

func countingGraph() *GroupGraph {
	return DefineGroup("counter", Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
}

// TestProcessorRestartWithFreshStoreRecoversTable: a second processor with
// an empty store restores every table record and sees the same values.
func TestProcessorRestartWithFreshStoreRecoversTable(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys, perKey = 40, 5
	env.createTopic("clicks", 4)
	env.emitCounts("clicks", keys, perKey, "click")
	want := uniformCounts(keys, perKey)

	first := env.processor(countingGraph(), storage.MemoryBuilder())
	r := env.start(first)
	eventually(t, "every key counted", func() bool { return hasCounts(first, want) })
	require.NoError(t, r.stop(t))

	second := env.processor(countingGraph(), storage.MemoryBuilder())
	r = env.startReady(second)
	assert.True(t, hasCounts(second, want), "the restored table has the counts")
	assert.Equal(t, uint(keys*perKey), tableRecovery(t, second), "every table write is read back")
	require.NoError(t, r.stop(t))
}

// TestProcessorRestartWithStoreCatchesUp: a processor that reuses its LevelDB
// store reads only the table records written since it stopped.
func TestProcessorRestartWithStoreCatchesUp(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys = 30
	env.createTopic("clicks", 4)
	dir := t.TempDir()

	// 1: the LevelDB processor counts 2 per key.
	env.emitCounts("clicks", keys, 2, "click")
	proc := env.processor(countingGraph(), storage.DefaultBuilder(dir))
	r := env.start(proc)
	eventually(t, "first batch counted", func() bool { return hasCounts(proc, uniformCounts(keys, 2)) })
	require.NoError(t, r.stop(t))

	// 2: restarted on the same store right away, it has nothing to read.
	proc = env.processor(countingGraph(), storage.DefaultBuilder(dir))
	r = env.startReady(proc)
	assert.True(t, hasCounts(proc, uniformCounts(keys, 2)))
	assert.Zero(t, tableRecovery(t, proc), "an up-to-date store reads no table record")
	require.NoError(t, r.stop(t))

	// 3: another instance, with a memory store, counts 3 more per key.
	env.emitCounts("clicks", keys, 3, "click")
	other := env.processor(countingGraph(), storage.MemoryBuilder())
	r = env.start(other)
	eventually(t, "second batch counted", func() bool { return hasCounts(other, uniformCounts(keys, 5)) })
	require.NoError(t, r.stop(t))

	// 4: the LevelDB store catches up with exactly those writes.
	proc = env.processor(countingGraph(), storage.DefaultBuilder(dir))
	r = env.startReady(proc)
	assert.True(t, hasCounts(proc, uniformCounts(keys, 5)))
	assert.Equal(t, uint(keys*3), tableRecovery(t, proc), "only the delta is read")
	require.NoError(t, r.stop(t))
}

// TestProcessorRecoverAhead: with WithRecoverAhead the table is restored
// before the group is joined, and the assigned partitions keep the stores it
// restored: every table record is read once, none again after joining.
func TestProcessorRecoverAhead(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys = 20
	env.createTopic("clicks", 3)
	env.emitCounts("clicks", keys, 2, "click")

	writer := env.processor(countingGraph(), storage.MemoryBuilder())
	r := env.start(writer)
	eventually(t, "counted", func() bool { return hasCounts(writer, uniformCounts(keys, 2)) })
	require.NoError(t, r.stop(t))

	proc := env.processor(countingGraph(), storage.DefaultBuilder(t.TempDir()), WithRecoverAhead())
	r = env.startReady(proc)
	assert.True(t, hasCounts(proc, uniformCounts(keys, 2)))
	assert.Equal(t, uint(keys*2), tableRecovery(t, proc), "every table record is read once, ahead of joining")
	require.NoError(t, r.stop(t))
}
