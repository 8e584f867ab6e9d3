package goka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/copartition"
	"github.com/seed-b2c684ed/goka/internal/engine"
	"github.com/seed-b2c684ed/goka/internal/proxy"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
)

// fastRestarts restarts at once, then after 50 ms steps: the tests wait for
// restarts, not for the default backoff.
func fastRestarts(max int) ProcessorOption {
	return WithRestartOnError(RestartPolicy{Backoff: NewSimpleBackoff(50*time.Millisecond, 200*time.Millisecond), MaxRestarts: max})
}

// lineLogger keeps the lines logged, besides writing them to the test log.
type lineLogger struct {
	testLogger
	mu    sync.Mutex
	lines []string
}

func (l *lineLogger) Printf(format string, v ...interface{}) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
	l.mu.Unlock()
	l.testLogger.Printf(format, v...)
}

// matching returns the lines that contain every one of parts.
func (l *lineLogger) matching(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var found []string
lines:
	for _, line := range l.lines {
		for _, part := range parts {
			if !strings.Contains(line, part) {
				continue lines
			}
		}
		found = append(found, line)
	}
	return found
}

// restartsMetric is goka_processor_restarts_total of group in reg.
func restartsMetric(t *testing.T, reg prometheus.Gatherer, group string) float64 {
	v, _ := sampleSum(t, reg, "goka_processor_restarts_total", map[string]string{"group": group})
	return v
}

// groupTableReads sums, over the partitions of a running processor, the
// records each group table partition read from its topic (restores and
// follows), and returns when the last restore started.
func groupTableReads(t *testing.T, proc *Processor) (records uint, lastRestore time.Time) {
	t.Helper()
	for partition, s := range proc.Stats().Group {
		require.NotNil(t, s.TableStats, "partition %d has a table", partition)
		records += s.TableStats.Input.Count
		if s.TableStats.Recovery.StartTime.After(lastRestore) {
			lastRestore = s.TableStats.Recovery.StartTime
		}
	}
	return records, lastRestore
}

// TestProcessorRestartsAfterATransientCallbackFailure: under the stop
// policy, a callback that fails once on the message at offset 4 restarts the
// processor instead of ending Run; the message is processed again and
// succeeds, the messages around it are processed once each and in order,
// nothing of the failed attempt remains, and the restart shows in the
// metric, the state and the log. The group table partition is kept open:
// the restart reads none of its records (a rebuilt memory store would read
// the four written before the failure).
func TestProcessorRestartsAfterATransientCallbackFailure(t *testing.T) {
	t.Parallel()
	log := &lineLogger{testLogger: testLogger{t}}
	s := newPoisonScenario(t, "heal-once", failByFail, 1, fastRestarts(0), WithLogger(log))
	restarting := s.proc.StateReader().WaitForState(ProcStateRestarting)
	began := time.Now()
	r := s.env.start(s.proc)
	s.waitCommitted(t)

	select {
	case <-restarting:
	default:
		t.Fatal("the processor never was in ProcStateRestarting")
	}
	select {
	case err := <-r.done:
		r.done <- err // for the harness's cleanup
		t.Fatalf("Run returned: %v", err)
	default:
	}
	assert.Equal(t, offsetsWith(2), s.offsets(), "the poison message is processed again after the restart, then the rest once each")
	assert.Equal(t, []int64{4, 4}, s.reads(poisonOffset), "the failed attempt left no count behind")
	assert.True(t, hasCounts(s.proc, map[string]int64{"k": poisonTotal}))
	assert.Equal(t, valuesWith(), s.outValues(t), "every value emitted once")
	assert.Equal(t, 1.0, restartsMetric(t, s.reg, "heal-once"))
	restarts := log.matching("restarting", "restart 1", "offset=4", errBoom.Error())
	assert.Len(t, restarts, 1, "the restart is logged with the message's error")

	records, lastRestore := groupTableReads(t, s.proc)
	assert.True(t, lastRestore.After(began), "the restart recovered the table")
	assert.Zero(t, records, "the kept store read no table record")
	require.NoError(t, r.stop(t))
}

// valuesWith are the values of "in", the poison message processed.
func valuesWith() []string {
	values := valuesWithout()
	return append(values[:poisonOffset:poisonOffset], append([]string{"bad"}, values[poisonOffset:]...)...)
}

// TestProcessorSkipPolicyPanicNeedsNoRestart: with restarts on and the skip
// policy, a callback that panics on one message skips it and goes on: the
// policy handles what belongs to the message, the restart nothing.
func TestProcessorSkipPolicyPanicNeedsNoRestart(t *testing.T) {
	t.Parallel()
	s := newPoisonScenario(t, "heal-skip", failByPanic, 1, fastRestarts(0), WithErrorPolicy(SkipOnError()))
	r := s.env.start(s.proc)
	s.waitCommitted(t)

	assert.Equal(t, offsetsWith(1), s.offsets())
	assert.True(t, hasCounts(s.proc, map[string]int64{"k": poisonTotal - 1}))
	assert.Equal(t, valuesWithout(), s.outValues(t))
	assert.Equal(t, 1.0, s.metric(t, "goka_processor_messages_skipped_total"))
	assert.Zero(t, restartsMetric(t, s.reg, "heal-skip"))
	require.NoError(t, r.stop(t))
}

// TestProcessorPermanentErrorEndsRun: a callback that fails with an error
// marked Permanent ends Run at once with it, restarts or not.
func TestProcessorPermanentErrorEndsRun(t *testing.T) {
	t.Parallel()
	errInvariant := errors.New("invariant broken")
	s := newPoisonScenario(t, "heal-permanent", failByFail, 0, fastRestarts(0))
	gg := DefineGroup("heal-permanent",
		Input("in", new(flakyCodec), func(ctx Context, msg interface{}) {
			if msg.(string) == "bad" {
				ctx.Fail(Permanent(fmt.Errorf("message %d: %w", ctx.Offset(), errInvariant)))
			}
		}),
		Persist(new(codec.Int64)),
	)
	proc := s.env.processor(gg, storage.MemoryBuilder(), fastRestarts(0), WithMetrics(s.reg))
	r := s.env.start(proc)
	err := r.wait(t)
	require.ErrorIs(t, err, errInvariant)
	var me *MessageError
	require.ErrorAs(t, err, &me, "the error still names the message")
	assert.Equal(t, int64(poisonOffset), me.Offset)
	assert.True(t, IsPermanent(err))
	assert.Zero(t, restartsMetric(t, s.reg, "heal-permanent"))
}

// TestProcessorGivesUpAfterTooManyRestarts: a message that always fails
// restarts the processor MaxRestarts times, then Run ends with
// ErrTooManyRestarts and the message's error.
func TestProcessorGivesUpAfterTooManyRestarts(t *testing.T) {
	t.Parallel()
	s := newPoisonScenario(t, "heal-give-up", failByFail, -1, fastRestarts(2))
	r := s.env.start(s.proc)
	err := r.wait(t)
	require.ErrorIs(t, err, ErrTooManyRestarts)
	require.ErrorIs(t, err, errBoom)
	var me *MessageError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, int64(poisonOffset), me.Offset)
	assert.Equal(t, 2.0, restartsMetric(t, s.reg, "heal-give-up"))
	assert.Equal(t, []int64{4, 4, 4}, s.reads(poisonOffset), "three attempts of the message, none left a count")
}

// TestProcessorStopsWhileRestarting: a cancel during a restart's backoff
// ends Run at once, with nil: the failure was being healed.
func TestProcessorStopsWhileRestarting(t *testing.T) {
	t.Parallel()
	s := newPoisonScenario(t, "heal-stop", failByFail, -1,
		WithRestartOnError(RestartPolicy{Backoff: constantBackoff(time.Hour)}))
	restarting := s.proc.StateReader().WaitForState(ProcStateRestarting)
	r := s.env.start(s.proc)
	select {
	case <-restarting:
	case err := <-r.done:
		r.done <- err // for the harness's cleanup
		t.Fatalf("Run returned: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no restart")
	}
	ready, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.proc.WaitForReadyContext(ready), context.DeadlineExceeded, "not ready while restarting")
	stopped := time.Now()
	require.NoError(t, r.stop(t))
	assert.Less(t, time.Since(stopped), 10*time.Second)
}

// constantBackoff waits d before every restart.
type constantBackoff time.Duration

func (b constantBackoff) Duration() time.Duration { return time.Duration(b) }
func (b constantBackoff) Reset()                  {}

// TestIsPermanent classifies the errors a processor may fail with.
func TestIsPermanent(t *testing.T) {
	t.Parallel()
	msg := func(err error) error {
		return &MessageError{Topic: "in", Partition: 1, Offset: 2, Key: "k", Err: err}
	}
	for _, c := range []struct {
		name      string
		err       error
		permanent bool
	}{
		{"nil", nil, false},
		{"a callback's error", msg(errBoom), false},
		{"marked by the callback", msg(Permanent(errBoom)), true},
		{"marked and wrapped", fmt.Errorf("outer: %w", Permanent(errBoom)), true},
		{"a context's end", fmt.Errorf("x: %w", context.Canceled), true},
		{"a context's deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"a callback's timeout", msg(fmt.Errorf("calling the service: %w", context.DeadlineExceeded)), false},
		{"a callback's context ended", msg(context.Canceled), false},
		{"a callback's permanent timeout", msg(Permanent(context.DeadlineExceeded)), true},
		{"a table not compacted", fmt.Errorf("x: %w", ErrTableNotCompacted), true},
		{"a foreign partitioner", msg(ErrForeignPartitioner), true},
		{"claims not co-partitioned", fmt.Errorf("x: %w", copartition.ErrNotCopartitioned), true},
		{"a fenced instance", fmt.Errorf("x: %w", sarama.ErrFencedInstancedId), true},
		{"a fenced producer", msg(fmt.Errorf("emit: %w", sarama.ErrProducerFenced)), true},
		{"a fenced exactly-once instance", fmt.Errorf("x: %w", ErrFenced), true},
		{"a bad configuration", fmt.Errorf("x: %w", sarama.ConfigurationError("bad")), true},
		{"a refused authorization", fmt.Errorf("x: %w", sarama.ErrTopicAuthorizationFailed), true},
		{"an invalid instance id", fmt.Errorf("x: %w", errGroupInstanceID), true},
		{"no broker", fmt.Errorf("x: %w", sarama.ErrOutOfBrokers), false},
		{"a leader failover", msg(sarama.ErrNotLeaderForPartition), false},
		{"a panic", msg(engine.PanicError("callback", "boom")), false},
	} {
		assert.Equal(t, c.permanent, IsPermanent(c.err), c.name)
	}
	assert.Nil(t, Permanent(nil))
	assert.Equal(t, errBoom.Error(), Permanent(errBoom).Error(), "the mark keeps the text")
}

// newProxiedProcEnv is a procEnv whose clients reach the broker through a
// proxy the test can cut, with the short timeouts that make a cut noticed
// in milliseconds.
func newProxiedProcEnv(t *testing.T) (*procEnv, *proxy.Proxy) {
	t.Helper()
	var px *proxy.Proxy
	var perr error
	cluster, err := kafkatest.NewCluster(kafkatest.WithAdvertisedAddr(func(listen string) string {
		px, perr = proxy.New(listen)
		if perr != nil {
			return listen
		}
		return px.Addr()
	}))
	if px != nil {
		// Registered first, so it runs after the cluster's Close.
		t.Cleanup(func() { require.NoError(t, px.Close()) })
	}
	require.NoError(t, perr)
	require.NoError(t, err)
	t.Cleanup(cluster.Close)

	env := &procEnv{t: t, cluster: cluster, brokers: cluster.Addrs(), config: newProcEnvConfig(), tmConfig: NewTopicManagerConfig()}
	env.tmConfig.Table.Replication = 1
	env.tmConfig.Stream.Replication = 1
	env.config.Consumer.Retry.Backoff = 20 * time.Millisecond
	env.config.Net.DialTimeout = time.Second
	env.config.Net.ReadTimeout = 2 * time.Second
	env.config.Net.WriteTimeout = 2 * time.Second
	env.config.Metadata.Retry.Max = 1
	env.config.Metadata.Retry.Backoff = 20 * time.Millisecond
	env.config.Consumer.Group.Session.Timeout = 6 * time.Second
	return env, px
}

// newProcEnvConfig is newProcEnv's client configuration.
func newProcEnvConfig() *sarama.Config {
	config := DefaultConfig()
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	config.Consumer.MaxWaitTime = 20 * time.Millisecond
	config.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	config.Producer.Flush.Frequency = 5 * time.Millisecond
	return config
}

// TestProcessorHealsAfterABrokerOutage: a processor whose broker is
// unreachable for longer than the group retry timeout fails; with
// WithRestartOnError it restarts until the broker is back, without the
// caller's help, and goes on counting: the counts are exact, the restart
// is in the metric and the log, and the kept stores read no table record.
// Without lookups the attempt started during the outage fails too, and is
// restarted again. With a lookup table, whose view rides through the outage
// on its own (a view cannot be run again), that attempt waits for the view
// to be back instead.
func TestProcessorHealsAfterABrokerOutage(t *testing.T) {
	t.Parallel()
	t.Run("stateful", func(t *testing.T) {
		t.Parallel()
		testHealsAfterABrokerOutage(t, false)
	})
	t.Run("with a lookup", func(t *testing.T) {
		t.Parallel()
		testHealsAfterABrokerOutage(t, true)
	})
}

func testHealsAfterABrokerOutage(t *testing.T, lookup bool) {
	env, px := newProxiedProcEnv(t)
	const keys = 20
	env.createTopic("clicks", 2)
	env.emitCounts("clicks", keys, 3, "click")

	reg := prometheus.NewRegistry()
	log := &lineLogger{testLogger: testLogger{t}}
	edges := []Edge{Input("clicks", new(codec.String), counter), Persist(new(codec.Int64))}
	wantRestarts := 2.0
	if lookup {
		require.NoError(t, env.cluster.CreateTopic("users", 1, map[string]string{"cleanup.policy": "compact"}))
		edges = append(edges, Lookup("users", new(codec.String)))
		wantRestarts = 1
	}
	proc := env.processor(DefineGroup("counter", edges...), storage.MemoryBuilder(),
		fastRestarts(0), WithMetrics(reg), WithLogger(log), groupRetryTimeout(500*time.Millisecond))
	r := env.start(proc)
	eventually(t, "the first batch counted", func() bool { return hasCounts(proc, uniformCounts(keys, 3)) })
	for partition := int32(0); partition < 2; partition++ {
		want := env.newestOffset("clicks", partition)
		eventually(t, "the first batch committed", func() bool { return env.committedSoFar("counter", "clicks", partition) == want })
	}
	read, _ := groupTableReads(t, proc)

	cut := time.Now()
	px.Cut()
	// Messages keep coming during the outage, around the proxy.
	writer := newProcEnvConfig()
	writer.Net.Proxy.Enable = true
	writer.Net.Proxy.Dialer = bypassDialer{from: px.Addr(), to: px.Target()}
	em, err := NewEmitter(env.brokers, "clicks", new(codec.String), WithEmitterProducerBuilder(ProducerBuilderWithConfig(writer)))
	require.NoError(t, err)
	for k := 0; k < keys; k++ {
		require.NoError(t, em.EmitSync(keyOf(k), "click"))
	}
	require.NoError(t, em.Finish())
	deadline := time.After(30 * time.Second)
	for restartsMetric(t, reg, "counter") < wantRestarts {
		select {
		case err := <-r.done:
			r.done <- err // for the harness's cleanup
			px.Restore()
			t.Fatalf("Run returned during the outage: %v", err)
		case <-deadline:
			px.Restore()
			t.Fatal("the outage did not restart the processor")
		case <-time.After(10 * time.Millisecond):
		}
	}
	px.Restore()
	ready, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, proc.WaitForReadyContext(ready))
	eventually(t, "the messages of the outage counted", func() bool { return hasCounts(proc, uniformCounts(keys, 4)) })

	env.emitCounts("clicks", keys, 2, "click")
	eventually(t, "the last batch counted", func() bool { return hasCounts(proc, uniformCounts(keys, 6)) })
	select {
	case err := <-r.done:
		r.done <- err // for the harness's cleanup
		t.Fatalf("Run returned: %v", err)
	default:
	}
	assert.Len(t, log.matching("restarting", "restart 1", "consuming from the group", sarama.ErrOutOfBrokers.Error()), 1, "the restart is logged with its cause")
	if lookup {
		assert.Equal(t, ViewStateRunning, proc.lookups["users"].CurrentState(), "the lookup is running")
	} else {
		assert.NotEmpty(t, log.matching("restarting", "restart 2", sarama.ErrOutOfBrokers.Error()), "so is the next")
	}
	after, lastRestore := groupTableReads(t, proc)
	assert.True(t, lastRestore.After(cut), "the restart recovered the tables")
	assert.Equal(t, read, after, "the kept stores read no table record")
	require.NoError(t, r.stop(t))
}

// TestProcessorRestartRebuildsOnlyTheDirtyStore: one partition fails while
// the other's callback runs past the stop deadline. The restart keeps the
// failed partition's clean store (it reads no table record) and rebuilds
// the store the late callback left dirty from the topic, once the callback
// returned; the counts are exact, as neither the failed attempt nor the late
// callback left a write behind. The late callback fails too: that belongs
// to the run that ended, and does not restart the new one.
func TestProcessorRestartRebuildsOnlyTheDirtyStore(t *testing.T) {
	errLate := errors.New("late")
	t.Parallel()
	env := newProcEnv(t)
	const partitions, perKey = 2, 3
	env.createTopic("clicks", partitions)
	var failKey, slowKey string
	for k := 0; failKey == "" || slowKey == ""; k++ {
		switch partitionOf(t, keyOf(k), partitions) {
		case 0:
			failKey = keyOf(k)
		case 1:
			slowKey = keyOf(k)
		}
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var failed, slowed sync.Once
	gg := DefineGroup("counter", Input("clicks", new(codec.String), func(ctx Context, msg interface{}) {
		switch msg.(string) {
		case "slow":
			late := false
			slowed.Do(func() {
				close(entered)
				<-release
				late = true
			})
			if late {
				// Too late: the restart is under way.
				ctx.Fail(errLate)
			}
		case "fail":
			failed.Do(func() { ctx.Fail(errBoom) })
		}
		counter(ctx, msg)
	}), Persist(new(codec.Int64)))
	log := &lineLogger{testLogger: testLogger{t}}
	reg := prometheus.NewRegistry()
	proc := env.processor(gg, storage.MemoryBuilder(), fastRestarts(0), WithLogger(log), WithMetrics(reg),
		WithPartitionStopTimeout(200*time.Millisecond))
	r := env.start(proc)
	em := env.emitter("clicks", new(codec.String))
	defer func() { require.NoError(t, em.Finish()) }()
	for i := 0; i < perKey; i++ {
		require.NoError(t, em.EmitSync(failKey, "click"))
		require.NoError(t, em.EmitSync(slowKey, "click"))
	}
	eventually(t, "the first messages counted", func() bool {
		return hasCounts(proc, map[string]int64{failKey: perKey, slowKey: perKey})
	})

	restarting := proc.StateReader().WaitForState(ProcStateRestarting)
	require.NoError(t, em.EmitSync(slowKey, "slow"))
	<-entered
	require.NoError(t, em.EmitSync(failKey, "fail"))
	select {
	case <-restarting:
	case err := <-r.done:
		r.done <- err // for the harness's cleanup
		t.Fatalf("Run returned: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no restart")
	}
	close(release)

	eventually(t, "every message counted once", func() bool {
		return hasCounts(proc, map[string]int64{failKey: perKey + 1, slowKey: perKey + 1})
	})
	stats := proc.Stats().Group
	assert.Zero(t, stats[0].TableStats.Input.Count, "the failed partition's clean store is kept")
	assert.Equal(t, uint(perKey), stats[1].TableStats.Input.Count, "the dirty store is rebuilt from the topic")
	assert.NotEmpty(t, log.matching("did not stop within"), "the late callback is logged")
	assert.Len(t, log.matching("dropping a late error", errLate.Error()), 1)
	assert.Equal(t, 1.0, restartsMetric(t, reg, "counter"), "the late failure restarted nothing")
	require.NoError(t, proc.WaitForReady(), "nor is it reported")
	require.NoError(t, r.stop(t))
}

// TestProcessorHealsWhenStartedDuringAnOutage: a processor whose Run starts
// while no broker is reachable cannot build its clients; it restarts until
// the broker is back and then counts. WaitForReady waits through it.
func TestProcessorHealsWhenStartedDuringAnOutage(t *testing.T) {
	t.Parallel()
	env, px := newProxiedProcEnv(t)
	const keys = 10
	env.createTopic("clicks", 2)
	env.emitCounts("clicks", keys, 2, "click")
	reg := prometheus.NewRegistry()
	proc := env.processor(countingGraph(), storage.MemoryBuilder(), fastRestarts(-1), WithMetrics(reg))

	px.Cut()
	r := env.start(proc)
	ready := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ready <- proc.WaitForReadyContext(ctx)
	}()
	eventually(t, "a restart during the outage", func() bool { return restartsMetric(t, reg, "counter") >= 1 })
	select {
	case err := <-ready:
		t.Fatalf("ready during the outage: %v", err)
	default:
	}
	px.Restore()
	require.NoError(t, <-ready, "ready once healed: the failures on the way are not returned")
	eventually(t, "every key counted", func() bool { return hasCounts(proc, uniformCounts(keys, 2)) })
	require.NoError(t, r.stop(t))
}

// TestProcessorRestartWindowSlides: restarts older than the window do not
// count against MaxRestarts, so failures spaced wider than the window never
// give up.
func TestProcessorRestartWindowSlides(t *testing.T) {
	t.Parallel()
	s := newPoisonScenario(t, "heal-window", failByFail, -1,
		WithRestartOnError(RestartPolicy{Backoff: constantBackoff(100 * time.Millisecond), MaxRestarts: 1, Window: 50 * time.Millisecond}))
	r := s.env.start(s.proc)
	eventually(t, "three restarts", func() bool { return restartsMetric(t, s.reg, "heal-window") >= 3 })
	select {
	case err := <-r.done:
		r.done <- err // for the harness's cleanup
		t.Fatalf("Run returned: %v", err)
	default:
	}
	require.NoError(t, r.stop(t))
}

// TestWithRestartOnErrorDefaults: the zero policy gets the defaults, and
// each processor built with one option value its own backoff.
func TestWithRestartOnErrorDefaults(t *testing.T) {
	t.Parallel()
	opt := WithRestartOnError(RestartPolicy{})
	var a, b poptions
	opt(&a, nil)
	opt(&b, nil)
	require.NotNil(t, a.restart)
	assert.Equal(t, defaultMaxRestarts, a.restart.MaxRestarts)
	assert.Equal(t, defaultWindow, a.restart.Window)
	assert.NotSame(t, a.restart.Backoff, b.restart.Backoff, "a backoff per processor")
	assert.Zero(t, a.restart.Backoff.Duration(), "the first restart is immediate")
	assert.Equal(t, defaultRestartStep, a.restart.Backoff.Duration())
	assert.Zero(t, b.restart.Backoff.Duration(), "the other backoff has not moved")
}
