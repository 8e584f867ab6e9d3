package goka

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFailedMessageLeavesNoEffects: a callback that writes its row, emits
// and then fails (Fail or a panic) sends nothing to Kafka and leaves nothing
// in the local store, however often the processor is restarted on it. The
// messages before it count as usual, and once the callback stops failing
// the message counts exactly once.
func TestFailedMessageLeavesNoEffects(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"Fail", "panic"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			env := newProcEnv(t)
			env.createTopic("in", 2)
			env.createTopic("out", 2)
			partition := partitionOf(t, "k", 2)
			for _, v := range []string{"a", "b", "bad"} {
				env.emitSync("in", new(codec.String), "k", v)
			}
			const badOffset = 2

			var failing atomic.Bool
			failing.Store(true)
			var mu sync.Mutex
			var readBack []string // what Value returned right after SetValue
			gg := DefineGroup("held",
				Input("in", new(codec.String), func(ctx Context, msg interface{}) {
					var n int64
					if v := ctx.Value(); v != nil {
						n = v.(int64)
					}
					if msg.(string) == "bad" && failing.Load() {
						ctx.SetValue(int64(1000))
						ctx.Emit("out", ctx.Key(), "from-bad")
						ctx.Loopback(ctx.Key(), "loop-from-bad")
						if how == "Fail" {
							ctx.Fail(errBoom)
						}
						panic(errBoom)
					}
					ctx.SetValue(n + 1)
					mu.Lock()
					readBack = append(readBack, fmt.Sprint(ctx.Value()))
					mu.Unlock()
					ctx.Emit("out", ctx.Key(), fmt.Sprintf("count-%d", n+1))
				}),
				Loop(new(codec.String), func(ctx Context, msg interface{}) {}),
				Output("out", new(codec.String)),
				Persist(new(codec.Int64)))

			// A persistent store, so whatever a failed message left locally
			// would still be there at the next start.
			sb := storage.DefaultBuilder(t.TempDir())
			rec := new(recordingLogger)
			for restart := 0; restart < 5; restart++ {
				proc := env.processor(gg, sb, WithLogger(rec))
				err := env.start(proc).wait(t)
				var me *MessageError
				require.ErrorAs(t, err, &me, "run %d", restart)
				require.Equal(t, int64(badOffset), me.Offset, "run %d", restart)
				require.ErrorIs(t, err, errBoom)
			}

			tablePart := readPartition(t, env.brokers, string(GroupTable("held")), partition)
			var tableValues []string
			for _, m := range tablePart {
				tableValues = append(tableValues, string(m.Value))
			}
			assert.Equal(t, []string{"1", "2"}, tableValues, "the table topic holds only the writes of the messages that succeeded")
			var outValues []string
			for p := int32(0); p < 2; p++ {
				for _, m := range readPartition(t, env.brokers, "out", p) {
					outValues = append(outValues, string(m.Value))
				}
			}
			assert.Equal(t, []string{"count-1", "count-2"}, outValues, "the output topic holds nothing of the failed message")
			for p := int32(0); p < 2; p++ {
				assert.Empty(t, readPartition(t, env.brokers, string(loopName("held")), p), "no loopback of the failed message")
			}
			assert.Equal(t, int64(badOffset), env.committed("held", "in", partition))
			for _, line := range rec.taken() {
				assert.NotContains(t, line, "not closed cleanly",
					"a failed message leaves the store clean: no restart rebuilds it")
			}

			failing.Store(false)
			proc := env.processor(gg, sb)
			r := env.start(proc)
			eventually(t, "the failed message counted once", func() bool { return hasCounts(proc, map[string]int64{"k": 3}) })
			require.NoError(t, r.stop(t))
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []string{"1", "2", "3"}, readBack, "Value returns what SetValue set in the same callback")
		})
	}
}

// TestWritesAfterTheCallbackReturnedAreSent: a callback that hands its
// Context to a goroutine with DeferCommit (goka's pattern for asynchronous
// work) may still write after it returned; nothing holds those writes, and
// the message commits once the goroutine released it.
func TestWritesAfterTheCallbackReturnedAreSent(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	env.createTopic("out", 1)
	type later struct {
		ctx     Context
		release func(error)
	}
	handed := make(chan later, 1)
	gg := DefineGroup("after-return",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) {
			handed <- later{ctx: ctx, release: ctx.DeferCommit()}
		}),
		Output("out", new(codec.String)),
		Persist(new(codec.String)))
	proc := env.processor(gg, storage.MemoryBuilder())
	r := env.startReady(proc)
	env.emitSync("in", new(codec.String), "k", "a")
	var l later
	select {
	case l = <-handed:
	case <-time.After(kafkaWait):
		t.Fatal("the callback did not run")
	}
	l.ctx.SetValue("late")
	l.ctx.Emit("out", "k", "late")
	l.release(nil)
	eventually(t, "the message committed", func() bool { return env.committed("after-return", "in", 0) == 1 })
	v, err := proc.Get("k")
	require.NoError(t, err)
	assert.Equal(t, "late", v)
	require.NoError(t, r.stop(t))
	out := readPartition(t, env.brokers, "out", 0)
	require.Len(t, out, 1)
	assert.Equal(t, "late", string(out[0].Value))
}

// TestUntouchedPartitionStopsClean: a partition that wrote nothing stores -1
// as its table offset at a clean stop; the next run, which writes, must
// still mark its store clean at its stop, or the run after rebuilds it.
func TestUntouchedPartitionStopsClean(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	gg := DefineGroup("untouched", Input("in", new(codec.String), counter), Persist(new(codec.Int64)))
	sb := storage.DefaultBuilder(t.TempDir())
	rec := new(recordingLogger)

	r := env.startReady(env.processor(gg, sb, WithLogger(rec)))
	require.NoError(t, r.stop(t))

	proc := env.processor(gg, sb, WithLogger(rec))
	r = env.startReady(proc)
	env.emitSync("in", new(codec.String), "k", "a")
	eventually(t, "the message counted", func() bool { return hasCounts(proc, map[string]int64{"k": 1}) })
	require.NoError(t, r.stop(t))

	proc = env.processor(gg, sb, WithLogger(rec))
	r = env.startReady(proc)
	assert.True(t, hasCounts(proc, map[string]int64{"k": 1}))
	require.NoError(t, r.stop(t))
	for _, line := range rec.taken() {
		assert.NotContains(t, line, "not closed cleanly")
	}
}
