package goka

import (
	"context"
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProcessorVisitAll visits every key of the table, in the partitions'
// goroutines, with a Context that may write: a visitor that resets the
// counts leaves every key at the visit's meta.
func TestProcessorVisitAll(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys = 30
	env.createTopic("clicks", 3)
	env.emitCounts("clicks", keys, 2, "click")

	visited := make(chan Stream, keys)
	gg := DefineGroup("visited",
		Input("clicks", new(codec.String), counter),
		Persist(new(codec.Int64)),
		Visitor("reset", func(ctx Context, meta interface{}) {
			select {
			case visited <- ctx.Topic():
			default:
			}
			assert.Zero(t, ctx.Offset())
			assert.NotNil(t, ctx.Headers())
			assert.IsType(t, wrappedContext{}, ctx, "visits are wrapped too")
			ctx.SetValue(meta)
		}),
		Visitor("count", func(ctx Context, meta interface{}) {}),
	)
	proc := env.processor(gg, storage.MemoryBuilder(),
		WithContextWrapper(func(ctx Context) Context { return wrappedContext{ctx} }))
	r := env.start(proc)
	eventually(t, "counted", func() bool { return hasCounts(proc, uniformCounts(keys, 2)) })

	n, err := proc.VisitAllWithStats(t.Context(), "count", nil)
	require.NoError(t, err)
	assert.Equal(t, int64(keys), n, "every key visited once")

	require.NoError(t, proc.VisitAll(t.Context(), "reset", int64(100)))
	assert.True(t, hasCounts(proc, uniformCounts(keys, 100)), "the visitor's writes are applied when VisitAll returns")
	assert.Equal(t, Stream("reset"), <-visited, "a visit's topic is the visitor's name")

	// The counting callback goes on from the visitor's values.
	env.emitCounts("clicks", keys, 1, "click")
	eventually(t, "counted from the reset", func() bool { return hasCounts(proc, uniformCounts(keys, 101)) })

	_, err = proc.VisitAllWithStats(t.Context(), "unknown", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"unknown"`)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = proc.VisitAllWithStats(ctx, "count", nil)
	assert.ErrorIs(t, err, context.Canceled)
	require.NoError(t, r.stop(t))

	// The visitor's writes reached the table topic: a fresh processor
	// restores them.
	proc = env.processor(gg, storage.MemoryBuilder())
	r = env.startReady(proc)
	assert.True(t, hasCounts(proc, uniformCounts(keys, 101)))
	require.NoError(t, r.stop(t))
}

// TestProcessorVisitStateless: a processor without a table has nothing to
// visit.
func TestProcessorVisitStateless(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 1)
	gg := DefineGroup("stateless-visit", Input("clicks", new(codec.String), func(Context, interface{}) {}))
	proc := env.processor(gg, storage.MemoryBuilder())
	_, err := proc.VisitAllWithStats(t.Context(), "v", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stateless")
}
