package systemtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// TestCommitAcrossRestarts sends ten +1 messages to one key while the
// processor is stopped gracefully and started again five times, each run
// counting two of them. A graceful stop commits what was processed, so no
// run counts a message an earlier run counted: the sum is exactly 10, in the
// processor's own table, in the table topic and in the committed offset.
func TestCommitAcrossRestarts(t *testing.T) {
	const runs, perRun, key = 5, 2, "the-key"
	c := newCluster(t)
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	c.createStream(input, 1)
	c.deleteLater(string(tableOf(group)))
	cfg, tmc := systemtest.FastConfig(), systemtest.TopicManagerConfig()

	em, err := goka.NewEmitter(c.brokers, goka.Stream(input), new(codec.Int64), systemtest.EmitterOptions(cfg, tmc)...)
	require.NoError(t, err)
	defer func() { require.NoError(t, em.Finish()) }()

	dir := t.TempDir()
	for i := 1; i <= runs; i++ {
		for range perRun {
			require.NoError(t, em.EmitSync(key, int64(1)))
		}
		want := int64(i * perRun)
		// Every other run starts from an empty store, so the count comes
		// from the table topic as often as from the local copy.
		st := storage.DefaultBuilder(dir)
		if i%2 == 0 {
			st = storage.DefaultBuilder(t.TempDir())
		}
		proc, err := goka.NewProcessor(c.brokers, systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil),
			append(systemtest.ProcessorOptions(cfg, tmc, st), goka.WithLogger(testLogger{t, fmt.Sprintf("run %d", i)}))...)
		require.NoError(t, err)
		r := startProcessor(t, proc)
		ctx, cancel := context.WithTimeout(context.Background(), rebalanceDeadline)
		require.NoError(t, proc.WaitForReadyContext(ctx))
		cancel()
		waitFor(t, consumeDeadline, fmt.Sprintf("run %d to count %d", i, want), func() (bool, string) {
			require.True(t, r.running(), "run %d ended: %v", i, r.err)
			v, err := proc.Get(key)
			if err != nil {
				return false, err.Error()
			}
			got, _ := v.(int64)
			require.LessOrEqual(t, got, want, "run %d counted a message twice", i)
			return got == want, fmt.Sprintf("count %v", v)
		})
		require.NoError(t, r.stop(t), "run %d", i)
		offsets, err := c.committed(group, input, 1)
		require.NoError(t, err)
		require.Equal(t, []int64{want}, offsets, "run %d: a graceful stop commits what was processed", i)
	}

	counts := readTable(t, c.brokers, tableOf(group))
	t.Logf("summary: commit check: %d runs, sum %d (want %d)", runs, counts[key], runs*perRun)
	require.Equal(t, map[string]int64{key: runs * perRun}, counts)
}
