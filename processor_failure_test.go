package goka

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom")

// offsetLog records the input offsets a callback saw.
type offsetLog struct {
	mu      sync.Mutex
	offsets []int64
}

func (l *offsetLog) add(o int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.offsets = append(l.offsets, o)
}

func (l *offsetLog) get() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.offsets...)
}

// TestProcessorMessageFailures: Fail, a panic and an undecodable message
// each stop the processor with a *MessageError naming the message; the
// messages before it are committed, it is not, and a restarted processor
// processes it again.
func TestProcessorMessageFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// fail is what the callback does with the bad message.
		fail func(ctx Context)
		// decodes is false when the bad message cannot be decoded at all,
		// so the restarted processor fails on it again.
		decodes bool
		check   func(t *testing.T, err error)
	}{
		{
			name:    "Fail",
			fail:    func(ctx Context) { ctx.Fail(errBoom) },
			decodes: true,
			check:   func(t *testing.T, err error) { assert.ErrorIs(t, err, errBoom) },
		},
		{
			name:    "panic",
			fail:    func(ctx Context) { panic("kaboom") },
			decodes: true,
			check: func(t *testing.T, err error) {
				msg := err.Error()
				assert.Contains(t, msg, "kaboom")
				assert.Contains(t, msg, "TestProcessorMessageFailures", "the user's callback frame is reported")
				assert.NotContains(t, msg, "runtime/panic.go")
				assert.NotContains(t, msg, "runtime.gopanic")
				assert.NotContains(t, msg, "partition_processor.go", "library frames are left out")
			},
		},
		{
			name:    "undecodable",
			decodes: false,
			check: func(t *testing.T, err error) {
				var de *codec.DecodeError
				assert.ErrorAs(t, err, &de)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newProcEnv(t)
			env.createTopic("in", 2)
			partition := partitionOf(t, "k", 2)
			for _, v := range []string{"1", "2", "bad", "3"} {
				env.emitSync("in", new(codec.String), "k", v)
			}
			const badOffset = 2

			var failing atomic.Bool
			failing.Store(true)
			var seen offsetLog
			// Decoding "bad" with the Int64 codec fails; where the callback
			// must see it, a codec that decodes it to nil stands in.
			var inputCodec Codec = new(codec.Int64)
			if tt.decodes {
				inputCodec = new(badAsNil)
			}
			gg := DefineGroup("failing", Input("in", inputCodec, func(ctx Context, msg interface{}) {
				seen.add(ctx.Offset())
				if failing.Load() && msg == nil {
					tt.fail(ctx)
				}
				counter(ctx, msg)
			}), Persist(new(codec.Int64)))

			proc := env.processor(gg, storage.MemoryBuilder())
			err := env.start(proc).wait(t)
			require.Error(t, err)
			var me *MessageError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, "in", me.Topic)
			assert.Equal(t, partition, me.Partition)
			assert.Equal(t, int64(badOffset), me.Offset)
			assert.Equal(t, "k", me.Key)
			assert.Contains(t, err.Error(), "offset=2")
			assert.Equal(t, err, proc.Error())
			assert.IsType(t, &MessageError{}, err, "one failure is returned as is, not joined")
			assert.Equal(t, 1, strings.Count(err.Error(), "error processing message"), "reported once")
			tt.check(t, err)
			assert.Equal(t, int64(badOffset), env.committed("failing", "in", partition),
				"the messages before the failure are committed, the failing one is not")

			failing.Store(false)
			seenBefore := len(seen.get())
			proc = env.processor(gg, storage.MemoryBuilder())
			r := env.start(proc)
			if !tt.decodes {
				err := r.wait(t)
				require.ErrorAs(t, err, &me)
				assert.Equal(t, int64(badOffset), me.Offset, "the restarted processor meets the message again")
				return
			}
			eventually(t, "the rest counted", func() bool { return hasCounts(proc, map[string]int64{"k": 4}) })
			require.NoError(t, r.stop(t))
			assert.Equal(t, []int64{badOffset, badOffset + 1}, seen.get()[seenBefore:],
				"the restarted processor starts at the failing message")
		})
	}
}

// badAsNil is the Int64 codec that decodes "bad" to nil instead of failing.
type badAsNil struct{ codec.Int64 }

func (c *badAsNil) Decode(data []byte) (interface{}, error) {
	if string(data) == "bad" {
		return nil, nil
	}
	return c.Int64.Decode(data)
}

// TestProcessorEmitErrorStops: an emit Kafka refuses (the output topic does
// not exist) stops the processor with an error naming the message, which
// stays uncommitted.
func TestProcessorEmitErrorStops(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	env.emitSync("in", new(codec.String), "k", "hello")

	gg := DefineGroup("emitter-fails",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) {
			ctx.Emit("missing", ctx.Key(), msg)
		}),
		Output("missing", new(codec.String)))
	config := failFastProducerConfig()
	proc := env.processor(gg, storage.MemoryBuilder(), WithProducerBuilder(ProducerBuilderWithConfig(config)))
	err := env.start(proc).wait(t)
	var me *MessageError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, int64(0), me.Offset)
	assert.Contains(t, err.Error(), "missing")
	assert.ErrorIs(t, err, sarama.ErrUnknownTopicOrPartition)
	assert.LessOrEqual(t, env.committed("emitter-fails", "in", 0), int64(0))
}
