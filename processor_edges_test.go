package goka

import (
	"fmt"
	"testing"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProcessorLoopback: every input message loops back to one key, whose
// partition counts them all, whatever partition the input came from.
func TestProcessorLoopback(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys, perKey = 20, 3
	env.createTopic("clicks", 4)
	env.emitCounts("clicks", keys, perKey, "click")

	loopTopics := make(chan Stream, 1)
	gg := DefineGroup("looper",
		Input("clicks", new(codec.String), func(ctx Context, msg interface{}) {
			ctx.Loopback("total", msg)
		}),
		Loop(new(codec.String), func(ctx Context, msg interface{}) {
			select {
			case loopTopics <- ctx.Topic():
			default:
			}
			counter(ctx, msg)
		}),
		Persist(new(codec.Int64)),
	)
	proc := env.processor(gg, storage.MemoryBuilder())
	r := env.start(proc)
	eventually(t, "every click looped back", func() bool {
		return hasCounts(proc, map[string]int64{"total": keys * perKey})
	})
	assert.Equal(t, Stream("looper-loop"), <-loopTopics)
	v, err := proc.Get(keyOf(0))
	require.NoError(t, err)
	assert.Nil(t, v, "only the loop callback writes the table")
	require.NoError(t, r.stop(t))
}

// TestProcessorJoin joins the group table of another processor: the values
// it wrote are visible in the callback, and so are later updates.
func TestProcessorJoin(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("names", 3)
	env.createTopic("clicks", 3)

	// "users" keeps the last name given to each key in its table.
	users := DefineGroup("users",
		Input("names", new(codec.String), func(ctx Context, msg interface{}) { ctx.SetValue(msg) }),
		Persist(new(codec.String)))
	usersProc := env.processor(users, storage.MemoryBuilder())
	ru := env.start(usersProc)
	for k := 0; k < 10; k++ {
		env.emitSync("names", new(codec.String), keyOf(k), fmt.Sprintf("name-%d", k))
	}
	// Committed means the table writes are acknowledged, not only local.
	eventually(t, "names stored", func() bool {
		var n int64
		for p := int32(0); p < 3; p++ {
			n += max(env.committed("users", "names", p), 0)
		}
		return n == 10
	})

	// "greeter" stores "hello <name>" for every click of a key.
	greeter := DefineGroup("greeter",
		Input("clicks", new(codec.String), func(ctx Context, msg interface{}) {
			name, _ := ctx.Join("users-table").(string)
			ctx.SetValue("hello " + name)
		}),
		Join("users-table", new(codec.String)),
		Persist(new(codec.String)))
	proc := env.processor(greeter, storage.MemoryBuilder())
	r := env.startReady(proc)
	for k := 0; k < 10; k++ {
		env.emitSync("clicks", new(codec.String), keyOf(k), "click")
	}
	eventually(t, "greetings with the joined names", func() bool {
		for k := 0; k < 10; k++ {
			if v, err := proc.Get(keyOf(k)); err != nil || v != fmt.Sprintf("hello name-%d", k) {
				return false
			}
		}
		return true
	})

	// An update of the joined table reaches the join while it runs. The
	// users processor is the table's only writer, so the update is the
	// record at the table's current end.
	partition := partitionOf(t, keyOf(3), 3)
	update := env.newestOffset("users-table", partition)
	env.emitSync("names", new(codec.String), keyOf(3), "renamed")
	eventually(t, "the join applied the update", func() bool {
		s := proc.Stats().Group[partition]
		return s != nil && s.Joined["users-table"] != nil && s.Joined["users-table"].Input.LastOffset == update
	})
	env.emitSync("clicks", new(codec.String), keyOf(3), "click")
	eventually(t, "greeting with the new name", func() bool {
		v, err := proc.Get(keyOf(3))
		return err == nil && v == "hello renamed"
	})
	require.NoError(t, r.stop(t))
	require.NoError(t, ru.stop(t))
}

// TestProcessorLookup reads any key of a table with another partition count
// through the lookup view.
func TestProcessorLookup(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	require.NoError(t, env.cluster.CreateTopic("prices", 5, map[string]string{"cleanup.policy": "compact"}))
	env.createTopic("orders", 2)
	for i := 0; i < 10; i++ {
		env.emitSync("prices", new(codec.Int64), fmt.Sprintf("item-%d", i), int64(100+i))
	}

	// An order's message names an item; the order's value is its price.
	gg := DefineGroup("pricer",
		Input("orders", new(codec.String), func(ctx Context, msg interface{}) {
			price, _ := ctx.Lookup("prices", msg.(string)).(int64)
			ctx.SetValue(price)
		}),
		Lookup("prices", new(codec.Int64)),
		Persist(new(codec.Int64)))
	proc := env.processor(gg, storage.MemoryBuilder())
	r := env.startReady(proc)
	for i := 0; i < 10; i++ {
		env.emitSync("orders", new(codec.String), fmt.Sprintf("order-%d", i), fmt.Sprintf("item-%d", 9-i))
	}
	want := make(map[string]int64)
	for i := 0; i < 10; i++ {
		want[fmt.Sprintf("order-%d", i)] = int64(109 - i)
	}
	eventually(t, "orders priced", func() bool { return hasCounts(proc, want) })
	stats := proc.Stats()
	require.Contains(t, stats.Lookup, "prices")
	assert.Len(t, stats.Lookup["prices"].Partitions, 5)
	require.NoError(t, r.stop(t))
}

// TestProcessorOutputHeaders: emits carry the processor's default headers
// merged with the call's, later WithCtxEmitHeaders winning; table writes
// carry only the call's; input headers are never forwarded; a nil emit is a
// tombstone.
func TestProcessorOutputHeaders(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	env.createTopic("out", 1)

	gg := DefineGroup("headers",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) {
			assert.Equal(t, []byte("input"), ctx.Headers()["in"])
			ctx.Emit("out", ctx.Key(), msg,
				WithCtxEmitHeaders(Headers{"call": []byte("1"), "source": []byte("call")}),
				WithCtxEmitHeaders(Headers{"call": []byte("2")}))
			ctx.Emit("out", ctx.Key(), nil)
			ctx.SetValue(msg, WithCtxEmitHeaders(Headers{"table": []byte("yes")}))
		}),
		Output("out", new(codec.String)),
		Persist(new(codec.String)))
	proc := env.processor(gg, storage.MemoryBuilder(),
		WithProducerDefaultHeaders(Headers{"source": []byte("default"), "app": []byte("test")}))
	r := env.start(proc)

	em := env.emitter("in", new(codec.String))
	require.NoError(t, em.EmitSyncWithHeaders("k", "hello", Headers{"in": []byte("input")}))
	require.NoError(t, em.Finish())
	eventually(t, "table written", func() bool {
		v, err := proc.Get("k")
		return err == nil && v == "hello"
	})
	require.NoError(t, r.stop(t))

	out := readPartition(t, env.brokers, "out", 0)
	require.Len(t, out, 2)
	assert.Equal(t, "hello", string(out[0].Value))
	assert.Equal(t, Headers{"source": []byte("call"), "app": []byte("test"), "call": []byte("2")}, headersOf(out[0]))
	assert.Nil(t, out[1].Value, "a nil emit is a tombstone")
	assert.Equal(t, Headers{"source": []byte("default"), "app": []byte("test")}, headersOf(out[1]))

	tbl := readPartition(t, env.brokers, "headers-table", 0)
	require.Len(t, tbl, 1)
	assert.Equal(t, Headers{"table": []byte("yes")}, headersOf(tbl[0]), "table writes carry no default headers")
}

func headersOf(msg *sarama.ConsumerMessage) Headers { return HeadersFromSarama(msg.Headers) }
