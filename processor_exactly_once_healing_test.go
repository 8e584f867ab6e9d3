package goka

import (
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
// with WithRestartOnError whose callback fails once. The failure aborts the
// instance's transaction (the other messages of the interval included) and
// the processor restarts by itself, with a new transaction, instead of
// ending Run; every message, the failed one too, is then counted once in
// the committed table, and offsets commit to the end.
func TestExactlyOnceHealsAfterAnAbortedTransaction(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys, perKey = 10, 3
	env.createTopic("clicks", 2)
	var failures atomic.Int64
	graph := DefineGroup("counter", Input("clicks", new(codec.String), func(ctx Context, msg any) {
		if msg.(string) == "poison" && failures.Add(1) == 1 {
			ctx.Fail(errors.New("poisoned once"))
		}
		counter(ctx, msg)
	}), Persist(new(codec.Int64)))
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
}
