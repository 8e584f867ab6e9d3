package goka

import (
	"context"
	"hash"
	"hash/fnv"
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every test here hands the library user code that panics on one input
// ("poison") among valid ones. A panic that escaped a library goroutine
// would end the test binary; each test checks that the panic came back as an
// error naming what failed, with the user's frame, and that what did not
// meet the poison works on.

// poisonCodec is the String codec panicking on "poison" in both directions.
type poisonCodec struct{ codec.String }

func (c *poisonCodec) Decode(data []byte) (interface{}, error) {
	if string(data) == "poison" {
		panic("decoding poison")
	}
	return c.String.Decode(data)
}

func (c *poisonCodec) Encode(value interface{}) ([]byte, error) {
	if value == "poison" {
		panic("encoding poison")
	}
	return c.String.Encode(value)
}

// poisonHasher is FNV-1a panicking on the key "poison".
func poisonHasher() hash.Hash32 { return &poisonHash{Hash32: fnv.New32a()} }

type poisonHash struct{ hash.Hash32 }

func (h *poisonHash) Write(p []byte) (int, error) {
	if string(p) == "poison" {
		panic("hashing poison")
	}
	return h.Hash32.Write(p)
}

// assertPanicReport checks that err reports a panic of user code with the
// panic's text and the user's frame, without the runtime's.
func assertPanicReport(t *testing.T, err error, what, text, frame string) {
	t.Helper()
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "panic in "+what)
	assert.Contains(t, msg, text)
	assert.Contains(t, msg, frame, "the user's frame is reported")
	assert.NotContains(t, msg, "runtime.gopanic")
}

// requireMessageError checks that err is a *MessageError for the message.
func requireMessageError(t *testing.T, err error, topic string, partition int32, offset int64, key string) {
	t.Helper()
	var me *MessageError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, topic, me.Topic)
	assert.Equal(t, partition, me.Partition)
	assert.Equal(t, offset, me.Offset)
	assert.Equal(t, key, me.Key)
}

func TestPanicInInputCodecFailsTheMessage(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 2)
	for _, v := range []string{"a", "poison", "b"} {
		env.emitSync("in", new(codec.String), "k", v)
	}
	var seen offsetLog
	gg := DefineGroup("decode-panics", Input("in", new(poisonCodec), func(ctx Context, msg interface{}) {
		seen.add(ctx.Offset())
	}))
	err := env.start(env.processor(gg, storage.MemoryBuilder())).wait(t)
	requireMessageError(t, err, "in", partitionOf(t, "k", 2), 1, "k")
	assertPanicReport(t, err, "codec Decode", "decoding poison", "poisonCodec")
	assert.Equal(t, []int64{0}, seen.get())
	assert.Equal(t, int64(1), env.committed("decode-panics", "in", partitionOf(t, "k", 2)))
}

func TestPanicInContextWrapperFailsTheMessage(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	env.emitSync("in", new(codec.String), "fine", "a")
	env.emitSync("in", new(codec.String), "poison", "b")
	gg := DefineGroup("wrapper-panics", Input("in", new(codec.String), func(ctx Context, msg interface{}) {}))
	wrapper := func(ctx Context) Context {
		if ctx.Key() == "poison" {
			panic("wrapping poison")
		}
		return ctx
	}
	err := env.start(env.processor(gg, storage.MemoryBuilder(), WithContextWrapper(wrapper))).wait(t)
	requireMessageError(t, err, "in", 0, 1, "poison")
	assertPanicReport(t, err, "callback", "wrapping poison", "TestPanicInContextWrapperFailsTheMessage")
}

func TestPanicInRebalanceCallbackStopsTheProcessor(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	gg := DefineGroup("rebalance-panics", Input("in", new(codec.String), func(ctx Context, msg interface{}) {}))
	cb := func(a Assignment) { panic("rebalancing poison") }
	err := env.start(env.processor(gg, storage.MemoryBuilder(), WithRebalanceCallback(cb))).wait(t)
	assertPanicReport(t, err, "rebalance callback", "rebalancing poison", "TestPanicInRebalanceCallbackStopsTheProcessor")
}

// TestPanicInHasher: the processor's hasher panics on one key. Get of that
// key returns the error, and an emit under it fails its message; sarama
// calls the hasher in its own goroutine, where a panic would end the process.
func TestPanicInHasher(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 2)
	env.createTopic("out", 2)
	gg := DefineGroup("hasher-panics",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) {
			ctx.SetValue(msg)
			ctx.Emit("out", msg.(string), "x")
		}),
		Output("out", new(codec.String)),
		Persist(new(codec.String)))
	proc := env.processor(gg, storage.MemoryBuilder(), WithHasher(poisonHasher))
	r := env.startReady(proc)
	env.emitSync("in", new(codec.String), "k", "fine")
	eventually(t, "the fine message processed", func() bool {
		v, err := proc.Get("k")
		return err == nil && v == "fine"
	})
	_, err := proc.Get("poison")
	assertPanicReport(t, err, "hasher", "hashing poison", "poisonHash")

	env.emitSync("in", new(codec.String), "k", "poison")
	err = r.wait(t)
	requireMessageError(t, err, "in", partitionOf(t, "k", 2), 1, "k")
	assertPanicReport(t, err, "hasher", "hashing poison", "poisonHash")
	assert.Len(t, readPartition(t, env.brokers, "out", partitionOf(t, "fine", 2)), 1, "the fine emit was sent")
}

// TestPanicInTableCodec: the group table holds a value its codec panics on.
// Processor.Get and a visit that reads it get the error; the other keys are
// read and visited.
func TestPanicInTableCodec(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	group := Group("table-codec-panics")
	require.NoError(t, env.cluster.CreateTopic(string(GroupTable(group)), 1, map[string]string{"cleanup.policy": "compact"}))
	env.emitSync(Stream(GroupTable(group)), new(codec.String), "fine", "a")
	env.emitSync(Stream(GroupTable(group)), new(codec.String), "bad", "poison")

	visited := make(chan string, 10)
	gg := DefineGroup(group,
		Input("in", new(codec.String), func(ctx Context, msg interface{}) {}),
		Visitor("read", func(ctx Context, meta interface{}) {
			_ = ctx.Value()
			visited <- ctx.Key()
		}),
		Persist(new(poisonCodec)))
	proc := env.processor(gg, storage.MemoryBuilder())
	r := env.startReady(proc)
	v, err := proc.Get("fine")
	require.NoError(t, err)
	assert.Equal(t, "a", v)
	_, err = proc.Get("bad")
	assertPanicReport(t, err, "codec Decode", "decoding poison", "poisonCodec")

	err = proc.VisitAll(context.Background(), "read", nil)
	assertPanicReport(t, err, "callback", "decoding poison", "poisonCodec")
	assert.Contains(t, err.Error(), `"bad"`)
	err = r.wait(t)
	assertPanicReport(t, err, "callback", "decoding poison", "poisonCodec")
}

// TestPanicInVisitorStopsTheVisit: a visitor panicking on one key ends
// VisitAll and the processor with the error, not the process.
func TestPanicInVisitorStopsTheVisit(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	gg := DefineGroup("visitor-panics",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) { ctx.SetValue(msg) }),
		Visitor("boom", func(ctx Context, meta interface{}) {
			if ctx.Key() == "poison" {
				panic("visiting poison")
			}
		}),
		Persist(new(codec.String)))
	proc := env.processor(gg, storage.MemoryBuilder())
	r := env.startReady(proc)
	env.emitSync("in", new(codec.String), "fine", "a")
	env.emitSync("in", new(codec.String), "poison", "b")
	eventually(t, "both keys stored", func() bool {
		v, err := proc.Get("poison")
		return err == nil && v == "b"
	})
	err := proc.VisitAll(context.Background(), "boom", nil)
	assertPanicReport(t, err, "callback", "visiting poison", "TestPanicInVisitorStopsTheVisit")
	assertPanicReport(t, r.wait(t), "callback", "visiting poison", "TestPanicInVisitorStopsTheVisit")
}

// TestPanicInUpdateCallbackDuringRestore: an update callback that panics on
// one record of the group table ends Run with an error naming the record,
// at every start: no crash, and no endless restore.
func TestPanicInUpdateCallbackDuringRestore(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	group := Group("update-panics")
	require.NoError(t, env.cluster.CreateTopic(string(GroupTable(group)), 1, map[string]string{"cleanup.policy": "compact"}))
	env.emitSync(Stream(GroupTable(group)), new(codec.String), "fine", "a")
	env.emitSync(Stream(GroupTable(group)), new(codec.String), "bad", "poison")

	update := func(ctx UpdateContext, s storage.Storage, key string, value []byte) error {
		if _, err := new(poisonCodec).Decode(value); err != nil {
			return err
		}
		return DefaultUpdate(ctx, s, key, value)
	}
	gg := DefineGroup(group, Input("in", new(codec.String), func(ctx Context, msg interface{}) {}), Persist(new(codec.String)))
	sb := storage.DefaultBuilder(t.TempDir())
	for start := 0; start < 2; start++ {
		err := env.start(env.processor(gg, sb, WithUpdateCallback(update))).wait(t)
		var ue *table.UpdateError
		require.ErrorAs(t, err, &ue, "start %d", start)
		assert.Equal(t, string(GroupTable(group)), ue.Topic)
		assert.Equal(t, int32(0), ue.Partition)
		assert.Equal(t, int64(1), ue.Offset)
		assert.Equal(t, "bad", ue.Key)
		assertPanicReport(t, err, "update callback", "decoding poison", "poisonCodec")
	}
}

// viewUpdate is an update callback that panics on the value "poison".
func viewUpdate(ctx UpdateContext, s storage.Storage, key string, value []byte) error {
	if string(value) == "poison" {
		panic("updating poison")
	}
	return DefaultUpdate(ctx, s, key, value)
}

func TestPanicInViewUpdateCallbackDuringRestore(t *testing.T) {
	t.Parallel()
	env := newViewEnv(t, false)
	env.createTable("tbl", 1)
	env.write("tbl", upsert("fine", "a"), upsert("bad", "poison"))
	for _, opts := range [][]ViewOption{nil, {WithViewAutoReconnect()}} {
		v := env.newView("tbl", append(opts, WithViewCallback(viewUpdate))...)
		err := env.run(v).wait(t)
		var ue *table.UpdateError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "bad", ue.Key)
		assert.Equal(t, int64(1), ue.Offset)
		assertPanicReport(t, err, "update callback", "updating poison", "viewUpdate")
		assert.NotContains(t, err.Error(), "internal/table", "the library's frames are left out")
	}
}

func TestPanicInViewUpdateCallbackWhileFollowing(t *testing.T) {
	t.Parallel()
	env := newViewEnv(t, false)
	env.createTable("tbl", 1)
	env.write("tbl", upsert("fine", "a"))
	r := env.run(env.newView("tbl", WithViewCallback(viewUpdate)))
	r.recovered(t)
	env.write("tbl", upsert("bad", "poison"))
	err := r.wait(t)
	var ue *table.UpdateError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "bad", ue.Key)
	assertPanicReport(t, err, "update callback", "updating poison", "viewUpdate")
}

// TestPanicInViewReads: a view's hasher and codec panic on one key or value;
// the reads meeting them return the error, the others answer.
func TestPanicInViewReads(t *testing.T) {
	t.Parallel()
	env := newViewEnv(t, false)
	env.createTable("tbl", 2)
	env.write("tbl", upsert("fine", "a"), upsert("bad", "poison"))
	v, err := NewView(env.brokers, "tbl", new(poisonCodec), env.options(WithViewHasher(poisonHasher))...)
	require.NoError(t, err)
	r := env.run(v)
	r.recovered(t)

	value, err := v.Get("fine")
	require.NoError(t, err)
	assert.Equal(t, "a", value)
	_, err = v.Get("bad")
	assertPanicReport(t, err, "codec Decode", "decoding poison", "poisonCodec")
	_, err = v.Get("poison")
	assertPanicReport(t, err, "hasher", "hashing poison", "poisonHash")
	_, err = v.Has("poison")
	assertPanicReport(t, err, "hasher", "hashing poison", "poisonHash")
	assertPanicReport(t, v.Evict("poison"), "hasher", "hashing poison", "poisonHash")

	it, err := v.Iterator()
	require.NoError(t, err)
	defer it.Release()
	values := map[string]string{}
	for it.Next() {
		value, err := it.Value()
		if it.Key() == "bad" {
			assertPanicReport(t, err, "codec Decode", "decoding poison", "poisonCodec")
			continue
		}
		require.NoError(t, err)
		values[it.Key()] = value.(string)
	}
	assert.Equal(t, map[string]string{"fine": "a"}, values)
	require.NoError(t, r.stop(t))
}

// TestPanicInLookup: a lookup under a key the hasher panics on fails the
// message.
func TestPanicInLookup(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	require.NoError(t, env.cluster.CreateTopic("lookup", 2, map[string]string{"cleanup.policy": "compact"}))
	env.emitSync("lookup", new(codec.String), "k", "a")
	gg := DefineGroup("lookup-panics",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) {
			ctx.Lookup("lookup", msg.(string))
		}),
		Lookup("lookup", new(codec.String)))
	env.emitSync("in", new(codec.String), "x", "k")
	env.emitSync("in", new(codec.String), "y", "poison")
	err := env.start(env.processor(gg, storage.MemoryBuilder(), WithHasher(poisonHasher))).wait(t)
	requireMessageError(t, err, "in", 0, 1, "y")
	assertPanicReport(t, err, "hasher", "hashing poison", "poisonHash")
}

// TestPanicInEmitter: the emitter's codec and hasher panic on one value and
// one key; those emits return the error, the others are sent.
func TestPanicInEmitter(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("out", 2)
	em, err := NewEmitter(env.brokers, "out", new(poisonCodec),
		WithEmitterProducerBuilder(ProducerBuilderWithConfig(env.config)), WithEmitterHasher(poisonHasher))
	require.NoError(t, err)
	_, err = em.Emit("k", "poison")
	assertPanicReport(t, err, "codec Encode", "encoding poison", "poisonCodec")
	assertPanicReport(t, em.EmitSync("k", "poison"), "codec Encode", "encoding poison", "poisonCodec")
	err = em.EmitSync("poison", "a")
	assertPanicReport(t, err, "hasher", "hashing poison", "poisonHash")
	require.NoError(t, em.EmitSync("k", "a"))
	require.NoError(t, em.Finish())
	var total int
	for p := int32(0); p < 2; p++ {
		total += len(readPartition(t, env.brokers, "out", p))
	}
	assert.Equal(t, 1, total)
}

// TestGuardedHashMatchesItsHasher: guarding a hasher does not change the
// partitions keys land in.
func TestGuardedHashMatchesItsHasher(t *testing.T) {
	fnvHasher := func() hash.Hash32 { return fnv.New32a() }
	guarded := guardHasher(fnvHasher)()
	_, isGuarded := guarded.(*guardedHash)
	require.True(t, isGuarded, "a hasher of the user's is guarded")
	_, isGuarded = guardHasher(DefaultHasher())().(*guardedHash)
	assert.False(t, isGuarded, "the library's own hasher is trusted")
	plain := DefaultHasher()()
	for _, key := range []string{"", "a", "key-001", "\x00\xff"} {
		guarded.Reset()
		plain.Reset()
		_, err := guarded.Write([]byte(key))
		require.NoError(t, err)
		_, _ = plain.Write([]byte(key))
		assert.Equal(t, plain.Sum32(), guarded.Sum32(), "key %q", key)
		assert.Equal(t, plain.Sum(nil), guarded.Sum(nil), "key %q", key)
	}
	guarded = guardHasher(poisonHasher)()
	_, err := guarded.Write([]byte("poison"))
	assertPanicReport(t, err, "hasher", "hashing poison", "poisonHash")
	guarded.Reset()
	_, err = guarded.Write([]byte("fine"))
	require.NoError(t, err, "the hash works again after a panic")
}

// TestPanicInJoinUpdateCallbackWhileFollowing: the update callback panics on
// a record of a joined table that arrives while the processor runs; the
// processor stops with the error naming the record.
func TestPanicInJoinUpdateCallbackWhileFollowing(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	require.NoError(t, env.cluster.CreateTopic("joined", 1, map[string]string{"cleanup.policy": "compact"}))
	env.emitSync("joined", new(codec.String), "fine", "a")
	gg := DefineGroup("join-update-panics",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) {}),
		Join("joined", new(codec.String)))
	r := env.startReady(env.processor(gg, storage.MemoryBuilder(), WithUpdateCallback(viewUpdate)))
	env.emitSync("joined", new(codec.String), "bad", "poison")
	err := r.wait(t)
	var ue *table.UpdateError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "joined", ue.Topic)
	assert.Equal(t, int64(1), ue.Offset)
	assert.Equal(t, "bad", ue.Key)
	assertPanicReport(t, err, "update callback", "updating poison", "viewUpdate")
}

// TestPanicInOutputCodecFailsTheMessage: an output codec panicking in Emit
// fails the message, and the row the callback set before is not written.
func TestPanicInOutputCodecFailsTheMessage(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	env.createTopic("out", 1)
	env.emitSync("in", new(codec.String), "k", "fine")
	env.emitSync("in", new(codec.String), "k", "poison")
	gg := DefineGroup("output-codec-panics",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) {
			ctx.SetValue(msg)
			ctx.Emit("out", ctx.Key(), msg)
		}),
		Output("out", new(poisonCodec)),
		Persist(new(codec.String)))
	err := env.start(env.processor(gg, storage.MemoryBuilder())).wait(t)
	requireMessageError(t, err, "in", 0, 1, "k")
	assertPanicReport(t, err, "callback", "encoding poison", "poisonCodec")
	assert.Len(t, readPartition(t, env.brokers, string(GroupTable("output-codec-panics")), 0), 1, "only the fine row")
	assert.Len(t, readPartition(t, env.brokers, "out", 0), 1, "only the fine emit")
}
