package goka

import (
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deferred is a held commit and the offset of its message.
type deferred struct {
	offset  int64
	release func(error)
}

// withStopTimeout bounds how long stopping partitions wait for pending
// messages, so a test can stop a processor that holds a commit.
func withStopTimeout(d time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.stopTimeout = d }
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("nothing received")
		var zero T
		return zero
	}
}

// TestProcessorDeferCommit: a message whose deferred commit is held is not
// committed, nor is anything after it; releasing it with nil commits it;
// releasing it with an error stops the processor with the message's error.
func TestProcessorDeferCommit(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	held := make(chan deferred, 10)
	gg := DefineGroup("deferring", Input("in", new(codec.String), func(ctx Context, msg interface{}) {
		held <- deferred{offset: ctx.Offset(), release: ctx.DeferCommit()}
	}))

	// 1: message 0 stays held; message 1 completes but must wait for it.
	env.emitSync("in", new(codec.String), "a", "0")
	env.emitSync("in", new(codec.String), "b", "1")
	proc := env.processor(gg, storage.MemoryBuilder(), withStopTimeout(100*time.Millisecond))
	r := env.start(proc)
	first := receive(t, held)
	second := receive(t, held)
	require.Equal(t, []int64{0, 1}, []int64{first.offset, second.offset})
	second.release(nil)
	second.release(errBoom) // extra calls are ignored
	require.NoError(t, r.stop(t))
	assert.LessOrEqual(t, env.committed("deferring", "in", 0), int64(0), "nothing is committed past the held message")
	first.release(nil) // too late: its session is gone

	// 2: a new processor gets both again; releasing them commits both.
	proc = env.processor(gg, storage.MemoryBuilder())
	r = env.start(proc)
	first = receive(t, held)
	second = receive(t, held)
	require.Equal(t, []int64{0, 1}, []int64{first.offset, second.offset}, "uncommitted messages are processed again")
	second.release(nil)
	first.release(nil)
	eventually(t, "both committed", func() bool { return env.committed("deferring", "in", 0) == 2 })

	// 3: a release with an error stops the processor.
	env.emitSync("in", new(codec.String), "c", "2")
	third := receive(t, held)
	third.release(errBoom)
	err := r.wait(t)
	var me *MessageError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, int64(2), me.Offset)
	assert.Equal(t, "c", me.Key)
	assert.ErrorIs(t, err, errBoom)
	assert.Equal(t, int64(2), env.committed("deferring", "in", 0))
}
