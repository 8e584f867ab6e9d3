package tester_test

// Tests written the way goka users write theirs against goka's tester:
// trackers first, Run in a goroutine, assertions through the tester.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/tester"
)

// runProcessor starts proc as goka users do, in a goroutine, and stops it
// when the test ends.
func runProcessor(t *testing.T, proc *goka.Processor) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
}

// forward is a processor that copies its input to "output" with a header.
func forward(t *testing.T, tt *tester.Tester) *goka.Processor {
	t.Helper()
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("forwarder",
		goka.Input("input", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.Emit("output", ctx.Key(), msg, goka.WithCtxEmitHeaders(goka.Headers{"trace": []byte("t-1")}))
		}),
		goka.Output("output", new(codec.String)),
	), goka.WithTester(tt))
	require.NoError(t, err)
	return proc
}

// goka's NextWithHeaders and NextRawWithHeaders return the headers first.
func TestQueueTrackerHeadersFirst(t *testing.T) {
	tt := tester.New(t)
	proc := forward(t, tt)
	out := tt.NewQueueTracker("output")
	runProcessor(t, proc)

	tt.Consume("input", "k1", "v1")
	tt.Consume("input", "k2", "v2")

	headers, key, value, ok := out.NextWithHeaders()
	require.True(t, ok)
	assert.Equal(t, goka.Headers{"trace": []byte("t-1")}, headers)
	assert.Equal(t, "k1", key)
	assert.Equal(t, "v1", value)

	rawHeaders, key, raw, ok := out.NextRawWithHeaders()
	require.True(t, ok)
	assert.Equal(t, []byte("t-1"), rawHeaders["trace"])
	assert.Equal(t, "k2", key)
	assert.Equal(t, []byte("v2"), raw)

	_, _, _, ok = out.NextWithHeaders()
	assert.False(t, ok)
}

// Creating the trackers before the processor's Run goroutine has started is
// the common pattern in goka tests; it must not wait for the processor.
func TestNewQueueTrackerBeforeRun(t *testing.T) {
	tt := tester.New(t)
	proc := forward(t, tt)

	created := make(chan *tester.QueueTracker, 1)
	go func() { created <- tt.NewQueueTracker("output") }()
	var out *tester.QueueTracker
	select {
	case out = <-created:
	case <-time.After(2 * time.Second):
		t.Fatal("NewQueueTracker waited for a processor that was not started yet")
	}

	runProcessor(t, proc)
	tt.Consume("input", "key", "value")
	key, value, ok := out.Next()
	require.True(t, ok)
	assert.Equal(t, "key", key)
	assert.Equal(t, "value", value)
}

// gokaContext names the embedded context so that it does not clash with
// the interface's Context method.
type gokaContext = goka.Context

// plusOne is a context wrapper that adds 1 to every value set.
type plusOne struct{ gokaContext }

func (c plusOne) SetValue(value interface{}, options ...goka.ContextOption) {
	c.gokaContext.SetValue(value.(int64)+1, options...)
}

// VisitAll under the tester goes through WithContextWrapper, and its
// effects are in the table when it returns.
func TestVisitAllThroughContextWrapper(t *testing.T) {
	tt := tester.New(t)
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("visited",
		goka.Input("numbers", new(codec.Int64), func(ctx goka.Context, msg interface{}) { ctx.SetValue(msg) }),
		goka.Visitor("reset", func(ctx goka.Context, meta interface{}) { ctx.SetValue(meta) }),
		goka.Persist(new(codec.Int64)),
	),
		goka.WithTester(tt),
		goka.WithContextWrapper(func(ctx goka.Context) goka.Context { return plusOne{ctx} }),
	)
	require.NoError(t, err)
	runProcessor(t, proc)

	tt.Consume("numbers", "a", int64(1))
	tt.Consume("numbers", "b", int64(2))
	assert.Equal(t, int64(2), tt.TableValue("visited-table", "a"))

	require.NoError(t, proc.VisitAll(context.Background(), "reset", int64(814)))
	assert.Equal(t, int64(815), tt.TableValue("visited-table", "a"))
	assert.Equal(t, int64(815), tt.TableValue("visited-table", "b"))

	visited, err := proc.VisitAllWithStats(context.Background(), "reset", int64(99))
	require.NoError(t, err)
	assert.Equal(t, int64(2), visited)
	assert.Equal(t, int64(100), tt.TableValue("visited-table", "a"))
}
