package systemtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// TestRecoveryReadsDelta restarts a processor on the LevelDB store it left
// behind after another instance had written to the group table meanwhile:
// it must read only those new table records. A processor on an empty store
// must read the whole table. Both must end with the same table, the one the
// messages add up to.
func TestRecoveryReadsDelta(t *testing.T) {
	const partitions, keys, firstPerKey, secondPerKey = 6, 50, 12, 6
	c := newCluster(t)
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	table := string(tableOf(group))
	c.createStream(input, partitions)
	c.deleteLater(table)

	want := make(map[string]int64, keys)
	emit := func(perKey int) {
		em, err := goka.NewEmitter(c.brokers, goka.Stream(input), new(codec.Int64),
			systemtest.EmitterOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig())...)
		require.NoError(t, err)
		for range perKey {
			for k := range keys {
				_, err := em.Emit(keyName(k), int64(1))
				require.NoError(t, err)
				want[keyName(k)]++
			}
		}
		require.NoError(t, em.Finish())
	}
	// start runs a processor on dir until it is ready.
	start := func(name, dir string) (*goka.Processor, *run) {
		proc, err := goka.NewProcessor(c.brokers, systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil),
			append(systemtest.ProcessorOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig(), storage.DefaultBuilder(dir)),
				goka.WithLogger(testLogger{t, name}))...)
		require.NoError(t, err)
		r := startProcessor(t, proc)
		ctx, cancel := context.WithTimeout(context.Background(), rebalanceDeadline)
		defer cancel()
		require.NoError(t, proc.WaitForReadyContext(ctx), name)
		return proc, r
	}
	// consume runs a processor on dir until the input is consumed.
	consume := func(name, dir string) {
		_, r := start(name, dir)
		c.waitConsumed(group, input, partitions, r)
		require.NoError(t, r.stop(t), name)
	}

	kept := t.TempDir()
	emit(firstPerKey)
	consume("first", kept)
	tableAfterFirst := c.mustNewest(table, partitions)

	// Another instance, on its own store, adds to the table.
	emit(secondPerKey)
	consume("other", t.TempDir())
	tableEnd := c.mustNewest(table, partitions)
	var delta, total int64
	for p := range tableEnd {
		delta += tableEnd[p] - tableAfterFirst[p]
		total += tableEnd[p]
	}
	require.EqualValues(t, keys*secondPerKey, delta, "one table write per message")

	restarted, r := start("restarted", kept)
	restartedRead, restartedTime := tableRecovery(t, restarted, tableEnd)
	restartedCounts := processorCounts(t, restarted, keys)
	require.NoError(t, r.stop(t))

	fresh, r := start("fresh", t.TempDir())
	freshRead, freshTime := tableRecovery(t, fresh, tableEnd)
	freshCounts := processorCounts(t, fresh, keys)
	require.NoError(t, r.stop(t))

	t.Logf("summary: recovery of %d table records: kept store read %d in %s, fresh store read %d in %s",
		total, restartedRead, restartedTime.Round(time.Millisecond), freshRead, freshTime.Round(time.Millisecond))
	assert.Equal(t, delta, restartedRead, "a kept store reads only what was written since")
	// The table's segment is still the active one, which compaction leaves
	// alone: a fresh store reads every record.
	assert.Equal(t, total, freshRead, "a fresh store reads the whole table")
	compareCounts(restartedCounts, want).requireExact(t)
	compareCounts(freshCounts, want).requireExact(t)
}

// tableRecovery returns how many table records proc read while restoring
// its partitions, and how long the slowest partition took, after checking
// that each partition was restored up to the table's end.
func tableRecovery(t *testing.T, proc *goka.Processor, tableEnd []int64) (read int64, took time.Duration) {
	t.Helper()
	stats := proc.Stats()
	require.Len(t, stats.Group, len(tableEnd), "the only instance holds every partition")
	for p, s := range stats.Group {
		require.NotNil(t, s.TableStats, "partition %d", p)
		rec := s.TableStats.Recovery
		assert.Equal(t, tableEnd[p], rec.Hwm, "partition %d restored up to the table's end", p)
		read += int64(s.TableStats.Input.Count)
		if d := rec.RecoveryTime.Sub(rec.StartTime); d > took {
			took = d
		}
	}
	return read, took
}

// processorCounts reads keys counter keys from the processor's own table.
func processorCounts(t *testing.T, proc *goka.Processor, keys int) map[string]int64 {
	t.Helper()
	counts := make(map[string]int64, keys)
	for k := range keys {
		v, err := proc.Get(keyName(k))
		require.NoError(t, err, fmt.Sprintf("key %s", keyName(k)))
		if v != nil {
			counts[keyName(k)] = v.(int64)
		}
	}
	return counts
}
