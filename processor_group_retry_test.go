package goka

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// flakyGroup is a consumer group whose first Consume calls fail as sarama's
// do while a group coordinator or partition leader fails over.
type flakyGroup struct {
	sarama.ConsumerGroup
	failures atomic.Int32 // calls still to fail; < 0: fail for ever
	calls    atomic.Int32
}

func (g *flakyGroup) Consume(ctx context.Context, topics []string, handler sarama.ConsumerGroupHandler) error {
	g.calls.Add(1)
	if n := g.failures.Load(); n != 0 {
		g.failures.Add(-1)
		return sarama.ErrOutOfBrokers
	}
	return g.ConsumerGroup.Consume(ctx, topics, handler)
}

func flakyGroupBuilder(config *sarama.Config, failures int32) (ConsumerGroupBuilder, *flakyGroup) {
	g := &flakyGroup{}
	g.failures.Store(failures)
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := ConsumerGroupBuilderWithConfig(config)(brokers, group, clientID)
		if err != nil {
			return nil, err
		}
		g.ConsumerGroup = cg
		return g, nil
	}, g
}

// groupRetryTimeout sets how long consecutive failures to join the group
// are retried, for tests that want a short one.
func groupRetryTimeout(d time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.groupRetryTimeout = d }
}

// TestProcessorRetriesGroupFailures: a consumer group that fails to
// (re)join a few times, as during a coordinator failover, does not end Run;
// the processor joins once the group answers and counts every message.
func TestProcessorRetriesGroupFailures(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)
	env.emitCounts("clicks", 10, 3, "click")

	builder, group := flakyGroupBuilder(env.config, 3)
	proc := env.processor(countingGraph(), storage.MemoryBuilder(),
		WithConsumerGroupBuilder(builder))
	r := env.start(proc)
	eventually(t, "every key counted after the group recovered", func() bool { return hasCounts(proc, uniformCounts(10, 3)) })
	require.GreaterOrEqual(t, group.calls.Load(), int32(4), "Consume was called again after each failure")
	require.NoError(t, r.stop(t))
}

// TestProcessorGivesUpOnLastingGroupFailures: a group that keeps failing
// ends Run with sarama's error once the retry timeout has passed.
func TestProcessorGivesUpOnLastingGroupFailures(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)

	builder, group := flakyGroupBuilder(env.config, -1)
	proc := env.processor(countingGraph(), storage.MemoryBuilder(),
		WithConsumerGroupBuilder(builder), groupRetryTimeout(time.Second))
	r := env.start(proc)
	err := r.wait(t)
	require.ErrorIs(t, err, sarama.ErrOutOfBrokers)
	require.Greater(t, group.calls.Load(), int32(1), "retried before giving up")
}
