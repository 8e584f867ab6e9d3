package goka_test

// A goka v1.1.16 program, written against goka's documentation with only the
// import paths changed: every exported function of goka's API surface is
// called at least once, every option of the processor, the view and the
// emitter is given, and the web servers are built. It backs
// scripts/apicheck, which compares signatures, with code a goka user would
// write: if a name or a call shape drifts from goka's, this file stops
// compiling. gokaProgram is compiled, not run (it would need a broker);
// TestGokaTesterProgram runs the tester part.

import (
	"context"
	"errors"
	"hash"
	"log"
	"net/http"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/gorilla/mux"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/multierr"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/redis"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/seed-b2c684ed/goka/web/actions"
	"github.com/seed-b2c684ed/goka/web/index"
	"github.com/seed-b2c684ed/goka/web/monitor"
	"github.com/seed-b2c684ed/goka/web/query"
	"github.com/seed-b2c684ed/goka/web/templates"
)

var _ = gokaProgram // compiled, never run

// everyContextMethod is a process callback that calls every method of
// goka.Context.
func everyContextMethod(ctx goka.Context, msg interface{}) {
	_ = ctx.Context()
	_, _, _, _ = ctx.Topic(), ctx.Key(), ctx.Partition(), ctx.Offset()
	_, _, _ = ctx.Group(), ctx.Timestamp(), ctx.Headers()
	_ = ctx.Value()
	_ = ctx.Join("user-table")
	_ = ctx.Lookup("country-table", "de")
	commit := ctx.DeferCommit()
	defer commit(nil)
	ctx.SetValue(msg, goka.WithCtxEmitHeaders(goka.Headers{"h": []byte("v")}))
	ctx.Emit("out", ctx.Key(), msg, goka.WithCtxEmitHeaders(nil))
	ctx.Loopback("other-key", msg)
	if msg == nil {
		ctx.Delete()
		ctx.Fail(errors.New("nil message"))
	}
}

func gokaProgram(ctx context.Context, brokers []string) error {
	// Package-level configuration.
	goka.Debug(true, false)
	config := goka.DefaultConfig()
	config.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{goka.CopartitioningStrategy}
	config.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{goka.StrictCopartitioningStrategy}
	goka.ReplaceGlobalConfig(config)
	goka.SetSaramaLogger(goka.DefaultLogger())
	goka.SetTableSuffix("-table")
	goka.SetLoopSuffix("-loop")
	goka.ResetSuffixes()

	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Table.CleanupPolicy = "compact"
	tmc.Stream.Replication = 1
	tmc.Stream.Retention = time.Hour
	tmc.Stream.CleanupPolicy = "delete"
	tmc.CreateTopicTimeout = time.Minute
	tmc.NoCreate = false
	tmc.MismatchBehavior = goka.TMConfigMismatchBehaviorWarn
	_ = []goka.TMConfigMismatchBehavior{goka.TMConfigMismatchBehaviorIgnore, goka.TMConfigMismatchBehaviorFail}

	tm, err := goka.NewTopicManager(brokers, goka.DefaultConfig(), tmc)
	if err != nil {
		return err
	}
	defer tm.Close()
	if err := tm.EnsureStreamExists("clicks", 10); err != nil {
		return err
	}
	if err := tm.EnsureTableExists("user-table", 10); err != nil {
		return err
	}
	if err := tm.EnsureTopicExists("raw", 10, 1, map[string]string{"cleanup.policy": "delete"}); err != nil {
		return err
	}
	partitions, err := tm.Partitions("clicks")
	if err != nil {
		return err
	}
	if _, err := tm.GetOffset("clicks", partitions[0], sarama.OffsetNewest); err != nil {
		return err
	}

	// Builders.
	var (
		tmBuilder     goka.TopicManagerBuilder   = goka.TopicManagerBuilderWithConfig(config, tmc)
		tmBuilder2    goka.TopicManagerBuilder   = goka.TopicManagerBuilderWithTopicManagerConfig(tmc)
		tmDefault     goka.TopicManagerBuilder   = goka.DefaultTopicManagerBuilder
		prodBuilder   goka.ProducerBuilder       = goka.ProducerBuilderWithConfig(config)
		prodDefault   goka.ProducerBuilder       = goka.DefaultProducerBuilder
		cgBuilder     goka.ConsumerGroupBuilder  = goka.ConsumerGroupBuilderWithConfig(config)
		cgDefault     goka.ConsumerGroupBuilder  = goka.DefaultConsumerGroupBuilder
		consBuilder   goka.SaramaConsumerBuilder = goka.SaramaConsumerBuilderWithConfig(config)
		consDefault   goka.SaramaConsumerBuilder = goka.DefaultSaramaConsumerBuilder
		backoff       goka.BackoffBuilder        = goka.DefaultBackoffBuilder
		hasher        func() hash.Hash32         = goka.DefaultHasher()
		storeBuilder  storage.Builder            = storage.DefaultBuilder(goka.DefaultProcessorStoragePath("counter"))
		viewStore     storage.Builder            = storage.DefaultBuilder(goka.DefaultViewStoragePath())
		rebalance     goka.RebalanceCallback     = goka.DefaultRebalance
		updateDefault goka.UpdateCallback        = goka.DefaultUpdate
	)
	_, _, _, _, _ = tmDefault, prodDefault, cgDefault, consDefault, updateDefault
	simple := func() (goka.Backoff, error) { return goka.NewSimpleBackoff(time.Second, 10*time.Second), nil }
	b, _ := simple()
	_ = b.Duration()
	b.Reset()
	producer, err := goka.NewProducer(brokers, config)
	if err != nil {
		return err
	}
	producer.Emit("raw", "key", []byte("v")).Then(func(err error) {})
	producer.EmitWithHeaders("raw", "key", nil, goka.Headers{}).ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {})
	_ = producer.Close()

	// A group with every kind of edge.
	graph := goka.DefineGroup("counter",
		goka.Input("clicks", new(codec.String), everyContextMethod),
		goka.Inputs(goka.Streams{"a", "b"}, new(codec.String), everyContextMethod),
		goka.Inputs(goka.StringsToStreams("c", "d"), new(codec.String), everyContextMethod),
		goka.Join("user-table", new(codec.String)),
		goka.Lookup("country-table", new(codec.String)),
		goka.Loop(new(codec.String), everyContextMethod),
		goka.Output("out", new(codec.String)),
		goka.Visitor("reset", everyContextMethod),
		goka.Persist(new(codec.Int64)),
	)
	if err := graph.Validate(); err != nil {
		return err
	}
	_, _, _ = graph.Group(), graph.GroupTable(), graph.LoopStream()
	_ = graph.AllEdges().Topics()
	_, _, _, _ = graph.InputStreams(), graph.JointTables(), graph.LookupTables(), graph.OutputStreams()
	for _, e := range graph.AllEdges() {
		_, _, _ = e.Topic(), e.Codec(), e.String()
	}
	_ = goka.GroupTable("counter")

	// A processor with every option goka has.
	proc, err := goka.NewProcessor(brokers, graph,
		goka.WithTopicManagerBuilder(tmBuilder),
		goka.WithConsumerGroupBuilder(cgBuilder),
		goka.WithConsumerSaramaBuilder(consBuilder),
		goka.WithProducerBuilder(prodBuilder),
		goka.WithStorageBuilder(storeBuilder),
		goka.WithHasher(hasher),
		goka.WithClientID("counter-1"),
		goka.WithLogger(log.Default()),
		goka.WithUpdateCallback(func(uc goka.UpdateContext, s storage.Storage, key string, value []byte) error {
			_, _, _, _, _ = uc.Topic(), uc.Partition(), uc.Offset(), uc.Timestamp(), uc.Headers()
			return goka.DefaultUpdate(uc, s, key, value)
		}),
		goka.WithRebalanceCallback(func(a goka.Assignment) { rebalance(a) }),
		goka.WithPartitionChannelSize(100),
		goka.WithNilHandling(goka.NilProcess),
		goka.WithHotStandby(),
		goka.WithRecoverAhead(),
		goka.WithBackoffBuilder(backoff),
		goka.WithBackoffResetTimeout(time.Minute),
		goka.WithProducerDefaultHeaders(goka.Headers{"app": []byte("counter")}),
		goka.WithContextWrapper(func(ctx goka.Context) goka.Context { return ctx }),
		goka.WithGroupGraphHook(func(gg *goka.GroupGraph) {}),
	)
	if err != nil {
		return err
	}
	_ = []goka.NilHandling{goka.NilIgnore, goka.NilDecode}

	// A view with every view option.
	view, err := goka.NewView(brokers, goka.GroupTable("counter"), new(codec.Int64),
		goka.WithViewTopicManagerBuilder(tmBuilder2),
		goka.WithViewConsumerSaramaBuilder(consBuilder),
		goka.WithViewStorageBuilder(viewStore),
		goka.WithViewHasher(goka.DefaultHasher()),
		goka.WithViewClientID("view-1"),
		goka.WithViewLogger(goka.DefaultLogger()),
		goka.WithViewCallback(goka.DefaultUpdate),
		goka.WithViewRestartable(),
		goka.WithViewAutoReconnect(),
		goka.WithViewBackoffBuilder(goka.DefaultBackoffBuilder),
		goka.WithViewBackoffResetTimeout(time.Minute),
	)
	if err != nil {
		return err
	}

	// An emitter with every emitter option.
	emitter, err := goka.NewEmitter(brokers, "clicks", new(codec.String),
		goka.WithEmitterTopicManagerBuilder(goka.DefaultTopicManagerBuilder),
		goka.WithEmitterProducerBuilder(goka.DefaultProducerBuilder),
		goka.WithEmitterHasher(goka.DefaultHasher()),
		goka.WithEmitterClientID("emitter-1"),
		goka.WithEmitterLogger(goka.DefaultLogger()),
		goka.WithEmitterDefaultHeaders(goka.Headers{"app": []byte("emitter")}),
	)
	if err != nil {
		return err
	}
	promise, err := emitter.Emit("user", "click")
	if err != nil {
		return err
	}
	promise.Then(func(err error) {})
	if _, err := emitter.EmitWithHeaders("user", "click", goka.Headers{"h": nil}); err != nil {
		return err
	}
	if err := emitter.EmitSync("user", "click"); err != nil && !errors.Is(err, goka.ErrEmitterAlreadyClosed) {
		return err
	}
	if err := emitter.EmitSyncWithHeaders("user", "click", nil); err != nil {
		return err
	}
	defer emitter.Finish()

	// The web servers around them, as goka's examples build them.
	router := mux.NewRouter()
	idx := index.NewServer("/", router)
	mon := monitor.NewServer("/monitor", router, monitor.WithLogger(goka.DefaultLogger()))
	mon.AttachProcessor(proc)
	mon.AttachView(view)
	qry := query.NewServer("/query", router, query.WithLogger(goka.DefaultLogger()), query.WithHumanizer(query.DefaultHumanizer()))
	_ = query.WithHumanizer(query.HumanizerFunc(func(v interface{}) (string, error) { return "", nil }))
	if err := qry.AttachSource("counter", proc.Get); err != nil {
		return err
	}
	if err := qry.AttachSource("view", goka.Getter(view.Get)); err != nil {
		return err
	}
	act := actions.NewServer("/actions", router, actions.WithLogger(goka.DefaultLogger()))
	if err := act.AttachAction("reset", actions.FuncActor("resets counters", func(ctx context.Context, value string) error {
		return proc.VisitAll(ctx, "reset", value)
	})); err != nil {
		return err
	}
	if err := act.AttachFuncAction("noop", "does nothing", func(ctx context.Context, value string) error { return nil }); err != nil {
		return err
	}
	idx.AddComponent(mon, "Monitor")
	idx.AddComponent(qry, "Query")
	idx.AddComponent(act, "Actions")
	_, _, _ = mon.BasePath(), qry.BasePath(), act.BasePath()
	if _, err := templates.LoadTemplates(templates.BaseTemplates...); err != nil {
		return err
	}
	if _, err := templates.NewEmbedLoader().LoadTemplates("index/index.go.html"); err != nil {
		return err
	}
	if _, err := templates.DefaultLoader.LoadTemplates("index/index.go.html"); err != nil {
		return err
	}
	srv := &http.Server{Addr: ":9095", Handler: router}
	defer srv.Close()

	// Run everything, as goka's examples do, and use what runs.
	errg, ctx := multierr.NewErrGroup(ctx)
	errg.Go(func() error { return proc.Run(ctx) })
	errg.Go(func() error { return view.Run(ctx) })
	errg.Go(srv.ListenAndServe)

	if err := proc.WaitForReady(); err != nil {
		return err
	}
	if err := proc.WaitForReadyContext(ctx); err != nil {
		return err
	}
	<-view.WaitRunning()
	_, _, _ = proc.Recovered(), view.Recovered(), view.Topic()
	if _, err := proc.Get("user"); err != nil {
		return err
	}
	if _, err := view.Get("user"); err != nil {
		return err
	}
	if _, err := view.Has("user"); err != nil {
		return err
	}
	if err := view.Evict("user"); err != nil {
		return err
	}
	it, err := view.Iterator()
	if err != nil {
		return err
	}
	for it.Next() {
		_, _ = it.Key(), it.Err()
		if _, err := it.Value(); err != nil {
			return err
		}
	}
	_ = it.Seek("a")
	it.Release()
	if _, err := view.IteratorWithRange("a", "z"); err != nil {
		return err
	}
	var vs goka.ViewState = view.CurrentState()
	_ = []goka.ViewState{vs, goka.ViewStateIdle, goka.ViewStateInitializing, goka.ViewStateConnecting, goka.ViewStateCatchUp, goka.ViewStateRunning}
	obs := view.ObserveStateChanges()
	_ = obs.C()
	obs.Stop()
	_ = view.Stats(ctx).Partitions

	stats := proc.Stats()
	_ = proc.StatsWithContext(ctx)
	for _, pp := range stats.Group {
		_, _, _, _, _ = pp.Now, pp.TableStats, pp.Joined, pp.Input, pp.Output
	}
	for _, vs := range stats.Lookup {
		for _, ts := range vs.Partitions {
			_, _, _, _, _ = ts.Stalled, ts.Status, ts.RunMode, ts.Recovery, ts.Input
			_ = ts.Writes
		}
	}
	if err := proc.VisitAll(ctx, "reset", nil); err != nil && !errors.Is(err, goka.ErrVisitAborted) {
		return err
	}
	if _, err := proc.VisitAllWithStats(ctx, "reset", nil); err != nil {
		return err
	}
	reader := proc.StateReader()
	_, _ = reader.State(), reader.IsState(goka.ProcStateRunning)
	<-reader.WaitForStateMin(goka.ProcStateRunning)
	_ = reader.WaitForState(goka.ProcStateStopped)
	reader.ObserveStateChange().Stop()
	_ = []goka.State{goka.ProcStateIdle, goka.ProcStateStarting, goka.ProcStateSetup, goka.ProcStateStopping,
		goka.PPStateIdle, goka.PPStateRecovering, goka.PPStateRunning, goka.PPStateStopping, goka.PPStateStopped}
	_ = []goka.PartitionStatus{goka.PartitionStopped, goka.PartitionInitializing, goka.PartitionConnecting,
		goka.PartitionRecovering, goka.PartitionPreparing, goka.PartitionRunning}
	_ = proc.Graph()
	proc.Stop()
	<-proc.Done()
	_ = proc.Error()

	if err := errg.Wait().ErrorOrNil(); err != nil {
		return err
	}
	return nil
}

// The remaining functions of the root package and its subpackages.
func gokaPackagesProgram(ctx context.Context) error {
	p, finish := goka.NewPromiseWithFinisher()
	finish(&sarama.ProducerMessage{}, nil)
	goka.NewPromise().Then(func(error) {})
	_ = p

	sig := goka.NewSignal(goka.PPStateIdle, goka.PPStateRunning).SetState(goka.PPStateRunning)
	_, _ = sig.State(), sig.IsState(goka.PPStateRunning)
	<-sig.WaitForState(goka.PPStateRunning)
	<-sig.WaitForStateMin(goka.PPStateIdle)
	done, cleanup := sig.WaitForStateMinWithCleanup(goka.PPStateRunning)
	cleanup()
	_ = done
	sig.ObserveStateChange().Stop()

	headers := goka.HeadersFromSarama([]*sarama.RecordHeader{{Key: []byte("k"), Value: []byte("v")}})
	_ = headers.Merged(goka.Headers{"x": nil})
	_, _ = headers.ToSarama(), headers.ToSaramaPtr()

	var uc goka.DefaultUpdateContext
	_, _, _, _, _ = uc.Topic(), uc.Partition(), uc.Offset(), uc.Timestamp(), uc.Headers()

	// codec
	for _, c := range []goka.Codec{new(codec.String), new(codec.Int64), new(codec.Bytes)} {
		data, _ := c.Encode(nil)
		_, _ = c.Decode(data)
	}

	// storage
	db, err := leveldb.OpenFile("/tmp/goka-program", nil)
	if err != nil {
		return err
	}
	st, err := storage.New(db)
	if err != nil {
		return err
	}
	_ = storage.BuilderWithOptions("/tmp/goka-program", &opt.Options{})
	_ = storage.MemoryBuilder()
	if _, err := storage.NewFile("/tmp/goka-program-file", 0); err != nil {
		return err
	}
	it, _ := st.Iterator()
	_ = storage.NewMultiIterator([]storage.Iterator{it, &storage.NullIter{}})
	for _, s := range []storage.Storage{st, storage.NewMemory(), storage.NewNull()} {
		if err := s.Open(); err != nil {
			return err
		}
		_ = s.Set("k", []byte("v"))
		_, _ = s.Get("k")
		_, _ = s.Has("k")
		_ = s.Delete("k")
		_ = s.SetOffset(1)
		_, _ = s.GetOffset(0)
		_ = s.MarkRecovered()
		_, _ = s.IteratorWithRange(nil, nil)
		_ = s.Close()
	}
	_ = new(storage.Null).Recovered()

	// storage/redis, on go-redis v9 (goka: redis.v5)
	client := goredis.NewClient(&goredis.Options{Addr: "localhost:6379"})
	if _, err := redis.New(client, "namespace"); err != nil {
		return err
	}
	_ = redis.RedisBuilder(client, "namespace")

	// multierr
	var errs multierr.Errors
	errs.Collect(errors.New("a")).Merge(new(multierr.Errors))
	_, _, _ = errs.HasErrors(), errs.Error(), errs.NilOrError()
	g, gctx := multierr.NewErrGroup(ctx)
	g.SetLimit(2)
	g.TryGo(func() error { return nil })
	g.Go(func() error { return nil })
	merr := <-g.WaitChan()
	_ = merr.ErrorOrNil()
	mw := multierr.NewMultiWait(gctx, 1)
	mw.Add(gctx.Done())
	_ = mw.Done()
	_ = mw.Wait()
	return nil
}

var _ = gokaPackagesProgram // compiled, never run

// The tester, with every method, as a goka unit test uses it.
func TestGokaTesterProgram(t *testing.T) {
	tt := tester.New(t)
	var _ goka.Tester = tt

	proc, err := goka.NewProcessor(nil, goka.DefineGroup("tester-program",
		goka.Input("in", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(msg)
			ctx.Emit("out", ctx.Key(), msg)
		}),
		goka.Output("out", new(codec.String)),
		goka.Persist(new(codec.String)),
	), goka.WithTester(tt))
	require.NoError(t, err)
	view, err := goka.NewView(nil, goka.GroupTable("tester-program"), new(codec.String), goka.WithViewTester(tt))
	require.NoError(t, err)
	emitter, err := goka.NewEmitter(nil, "in", new(codec.String), goka.WithEmitterTester(tt))
	require.NoError(t, err)

	out := tt.NewQueueTracker("out") // before Run, as goka tests do
	ctx, cancel := context.WithCancel(context.Background())
	errg, ctx := multierr.NewErrGroup(ctx)
	errg.Go(func() error { return proc.Run(ctx) })
	errg.Go(func() error { return view.Run(ctx) })
	defer func() {
		cancel()
		require.NoError(t, errg.Wait().ErrorOrNil())
	}()

	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tt.Consume("in", "k", "v1", tester.WithHeaders(goka.Headers{"h": []byte("1")}), tester.WithTime(at))
	key, value, ok := out.Next()
	require.True(t, ok)
	assert.Equal(t, "k", key)
	assert.Equal(t, "v1", value)

	require.NoError(t, emitter.EmitSync("k", "v2"))
	tt.Catchup()
	headers, key, raw, ok := out.NextRawWithHeaders()
	require.True(t, ok)
	assert.Equal(t, "k", key)
	assert.Equal(t, []byte("v2"), raw)
	_ = headers
	_, _, _, ok = out.NextWithHeaders()
	assert.False(t, ok)
	_, _, ok = out.NextRaw()
	assert.False(t, ok)
	assert.Equal(t, int64(2), out.Hwm())
	assert.Equal(t, int64(2), out.NextOffset())
	out.Seek(0)
	key, _, ok = out.Next()
	require.True(t, ok)
	assert.Equal(t, "k", key)

	assert.Equal(t, "v2", tt.TableValue("tester-program-table", "k"))
	tt.SetTableValue("tester-program-table", "other", "set")
	assert.Equal(t, []string{"k", "other"}, tt.GetTableKeys("tester-program-table"))
	tt.ClearValues()
	assert.Empty(t, tt.GetTableKeys("tester-program-table"))

	// The builders goka.WithTester and its siblings use.
	_ = []interface{}{tt.ConsumerBuilder(), tt.ConsumerGroupBuilder(), tt.ProducerBuilder(),
		tt.EmitterProducerBuilder(), tt.StorageBuilder(), tt.TopicManagerBuilder()}
	tt.RegisterEmitter("registered", new(codec.String))
	// The options call these; a tester whose clients never run is not used.
	unused := tester.New(t)
	_ = unused.RegisterGroupGraph(goka.DefineGroup("g", goka.Input("x", new(codec.String), everyContextMethod)))
	_ = unused.RegisterView("v", new(codec.String))
	mtm := tester.NewMockTopicManager(tt, 1, 1)
	require.NoError(t, mtm.EnsureStreamExists("s", 1))
	require.NoError(t, mtm.EnsureTableExists("t", 1))
	require.NoError(t, mtm.EnsureTopicExists("u", 1, 1, nil))
	parts, err := mtm.Partitions("s")
	require.NoError(t, err)
	assert.Equal(t, []int32{0}, parts)
	_, err = mtm.GetOffset("s", 0, sarama.OffsetNewest)
	require.NoError(t, err)
	require.NoError(t, mtm.Close())
	require.NoError(t, emitter.Finish())
}
