package goka

import (
	"sort"
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nilAsText decodes a nil value to "nil" and anything else as a string.
type nilAsText struct{ codec.String }

func (c *nilAsText) Decode(data []byte) (interface{}, error) {
	if data == nil {
		return "nil", nil
	}
	return c.String.Decode(data)
}

// TestProcessorNilHandling: a message with a nil value is skipped but
// committed (NilIgnore), handed over as nil (NilProcess) or decoded
// (NilDecode).
func TestProcessorNilHandling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		nh   NilHandling
		want []interface{}
	}{
		{NilIgnore, []interface{}{"x"}},
		{NilProcess, []interface{}{nil, "x"}},
		{NilDecode, []interface{}{"nil", "x"}},
	}
	for _, tt := range tests {
		t.Run(map[NilHandling]string{NilIgnore: "ignore", NilProcess: "process", NilDecode: "decode"}[tt.nh], func(t *testing.T) {
			t.Parallel()
			env := newProcEnv(t)
			env.createTopic("in", 1)
			env.emitSync("in", new(codec.String), "k", nil)
			env.emitSync("in", new(codec.String), "k", "x")

			got := make(chan interface{}, 2)
			gg := DefineGroup("nils", Input("in", new(nilAsText), func(ctx Context, msg interface{}) { got <- msg }))
			proc := env.processor(gg, storage.MemoryBuilder(), WithNilHandling(tt.nh))
			r := env.start(proc)
			for _, want := range tt.want {
				assert.Equal(t, want, receive(t, got))
			}
			eventually(t, "both committed", func() bool { return env.committed("nils", "in", 0) == 2 })
			require.NoError(t, r.stop(t))
			assert.Empty(t, got)
		})
	}
}

// wrappedContext marks a Context as wrapped by the context wrapper. The
// alias gives the embedded field a name other than the method Context.
type wrappedContext struct{ innerContext }

type innerContext = Context

// TestProcessorCallbacksAndWrapper: the rebalance callback gets the
// assignment, and the context wrapper wraps every callback's Context.
func TestProcessorCallbacksAndWrapper(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 3)
	env.emitSync("in", new(codec.String), "k", "x")

	assignments := make(chan Assignment, 10)
	wrapped := make(chan bool, 1)
	gg := DefineGroup("callbacks", Input("in", new(codec.String), func(ctx Context, msg interface{}) {
		_, ok := ctx.(wrappedContext)
		wrapped <- ok
	}))
	proc := env.processor(gg, storage.MemoryBuilder(),
		WithRebalanceCallback(func(a Assignment) { assignments <- a }),
		WithContextWrapper(func(ctx Context) Context { return wrappedContext{ctx} }))
	r := env.start(proc)
	assert.True(t, receive(t, wrapped), "the callback got the wrapped context")
	a := receive(t, assignments)
	var partitions []int32
	for p := range a {
		partitions = append(partitions, p)
	}
	sort.Slice(partitions, func(i, j int) bool { return partitions[i] < partitions[j] })
	assert.Equal(t, []int32{0, 1, 2}, partitions)
	require.NoError(t, r.stop(t))
}
