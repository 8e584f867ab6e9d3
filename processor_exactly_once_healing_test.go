package goka

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
)

// TestExactlyOnceHealsAfterAnAbortedTransaction: an exactly-once processor
// with WithRestartOnError whose callback counts, emits to an output and
// loops back every message, the loop callback emitting to a second output,
// and fails once. The failure aborts the instance's transaction (the other
// messages of the interval included) and the processor restarts by itself,
// with a new transaction, instead of ending Run. For read_committed readers
// every message, the failed one too, is then counted once in the table and
// appears once in each output, and offsets commit to the end.
func TestExactlyOnceHealsAfterAnAbortedTransaction(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys, perKey = 10, 3
	env.createTopic("clicks", 2)
	var failures atomic.Int64
	env.createTopic("out", 2)
	env.createTopic("loop-out", 2)
	graph := DefineGroup("counter",
		Input("clicks", new(codec.String), func(ctx Context, msg any) {
			ctx.Emit("out", ctx.Key(), msg)
			ctx.Loopback(ctx.Key(), msg)
			if msg.(string) == "poison" && failures.Add(1) == 1 {
				ctx.Fail(errors.New("poisoned once"))
			}
			counter(ctx, msg)
		}),
		Loop(new(codec.String), func(ctx Context, msg any) { ctx.Emit("loop-out", ctx.Key(), msg) }),
		Output("out", new(codec.String)),
		Output("loop-out", new(codec.String)),
		Persist(new(codec.Int64)))
	env.emitCounts("clicks", keys, perKey, "click")
	env.emitSync("clicks", new(codec.String), keyOf(0), "poison")
	env.emitCounts("clicks", keys, perKey, "click")
	want := uniformCounts(keys, 2*perKey)
	want[keyOf(0)]++

	proc := env.processor(graph, storage.MemoryBuilder(), env.eosOptions(20*time.Millisecond, fastRestarts(0))...)
	r := env.start(proc)
	eventually(t, "every message counted", func() bool { return hasCounts(proc, want) })
	eventually(t, "the offsets committed to the end", func() bool {
		return env.committedIfAny("counter", "clicks", 0) == env.newestOffset("clicks", 0) &&
			env.committedIfAny("counter", "clicks", 1) == env.newestOffset("clicks", 1)
	})
	select {
	case err := <-r.done:
		r.done <- err // for the harness's cleanup
		t.Fatalf("Run returned instead of restarting: %v", err)
	default:
	}
	assert.Equal(t, int64(2), failures.Load(), "the poison message was processed again after the restart")
	require.NoError(t, r.stop(t))
	assert.Equal(t, want, env.tableContent("counter-table", 2, sarama.ReadCommitted))
	total := 2*keys*perKey + 1
	assert.Len(t, env.topicRecords("out", 2, sarama.ReadCommitted), total, "every message emitted once")
	assert.Len(t, env.topicRecords("loop-out", 2, sarama.ReadCommitted), total, "every message looped back and handled once")
}

// TestExactlyOnceRunReturnsAnAttemptsOwnError: an attempt that ends with an
// error of its own, not through the failure that cancels it (here the
// consumer group cannot be built), stops its transactor too: Run returns
// the error instead of waiting for a commit loop nothing ends.
func TestExactlyOnceRunReturnsAnAttemptsOwnError(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)
	errBuild := errors.New("no consumer group today")
	proc := env.processor(countingGraph(), storage.MemoryBuilder(), env.eosOptions(20*time.Millisecond,
		WithConsumerGroupBuilder(func([]string, string, string) (sarama.ConsumerGroup, error) { return nil, errBuild }))...)
	done := make(chan error, 1)
	go func() { done <- proc.Run(context.Background()) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, errBuild)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its attempt failed")
	}
}
