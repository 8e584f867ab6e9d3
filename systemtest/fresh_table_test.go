package systemtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// TestStartOnFreshTable starts processors right after NewProcessor created
// their group tables, as every first deployment does. The broker may answer
// a ListOffsets request for a partition it has only just created with
// NOT_LEADER_OR_FOLLOWER, a retriable error; the processor must ride it out
// rather than fail its first session.
//
// It failed in most runs before the partitions retried Kafka errors while
// restoring their tables in setup.
func TestStartOnFreshTable(t *testing.T) {
	const groups, partitions = 30, 12
	c := newCluster(t)
	input := systemtest.UniqueName(t, "input")
	c.createStream(input, partitions)
	failed := 0
	for i := range groups {
		group := systemtest.UniqueName(t, "group")
		c.deleteLater(string(tableOf(group)))
		proc, err := goka.NewProcessor(c.brokers, systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil),
			append(systemtest.ProcessorOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig(), storage.MemoryBuilder()),
				goka.WithLogger(testLogger{t, fmt.Sprintf("processor %d", i)}))...)
		require.NoError(t, err)
		r := startProcessor(t, proc)
		ctx, cancel := context.WithTimeout(context.Background(), rebalanceDeadline)
		readyErr := proc.WaitForReadyContext(ctx)
		cancel()
		if err := r.stop(t); err != nil {
			failed++
			// WaitForReadyContext should have reported it too.
			t.Logf("processor %d: WaitForReadyContext: %v; Run: %v", i, readyErr, shortErr(err))
		}
	}
	require.Zero(t, failed, "%d of %d processors failed to start on a table created just before", failed, groups)
	t.Logf("summary: %d processors started on fresh tables", groups)
}
