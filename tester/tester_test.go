package tester

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run starts a processor or view in the background and stops it when the test
// ends, failing the test if Run returned an unexpected error.
func run(t *testing.T, r interface{ Run(context.Context) error }) chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			done <- err
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return done
}

func count(ctx goka.Context, msg interface{}) {
	var n int64
	if v := ctx.Value(); v != nil {
		n = v.(int64)
	}
	ctx.SetValue(n + 1)
}

func TestCountingProcessor(t *testing.T) {
	tt := New(t)
	gg := goka.DefineGroup("counter", goka.Input("clicks", new(codec.String), count), goka.Persist(new(codec.Int64)))
	proc, err := goka.NewProcessor(nil, gg, goka.WithTester(tt))
	require.NoError(t, err)
	run(t, proc)

	for i := 0; i < 10; i++ {
		tt.Consume("clicks", fmt.Sprintf("user-%d", i%3), "click")
	}
	assert.Equal(t, int64(4), tt.TableValue("counter-table", "user-0"))
	assert.Equal(t, int64(3), tt.TableValue("counter-table", "user-1"))
	assert.Nil(t, tt.TableValue("counter-table", "nobody"))
	assert.Equal(t, []string{"user-0", "user-1", "user-2"}, tt.GetTableKeys("counter-table"))

	v, err := proc.Get("user-2")
	require.NoError(t, err)
	assert.Equal(t, int64(3), v)

	tt.SetTableValue("counter-table", "user-0", int64(100))
	tt.Consume("clicks", "user-0", "click")
	assert.Equal(t, int64(101), tt.TableValue("counter-table", "user-0"))

	tt.ClearValues()
	assert.Empty(t, tt.GetTableKeys("counter-table"))
}

// TestCascade drives a processor with loopback, join, lookup and output, a
// second processor fed by the first, an emitter and a view, all through one
// tester.
func TestCascade(t *testing.T) {
	tt := New(t)

	// The "limits" group keeps a per-user limit, set through its input.
	limits := goka.DefineGroup("limits",
		goka.Input("set-limit", new(codec.Int64), func(ctx goka.Context, msg interface{}) { ctx.SetValue(msg) }),
		goka.Persist(new(codec.Int64)),
	)
	// The "names" group keeps display names, looked up from anywhere.
	names := goka.DefineGroup("names",
		goka.Input("set-name", new(codec.String), func(ctx goka.Context, msg interface{}) { ctx.SetValue(msg) }),
		goka.Persist(new(codec.String)),
	)
	// "spend" counts spending per user (joined with the limit), loops every
	// spend back as an audit record, and emits an alert with headers when the
	// limit is passed.
	spend := goka.DefineGroup("spend",
		goka.Input("spent", new(codec.Int64), func(ctx goka.Context, msg interface{}) {
			var total int64
			if v := ctx.Value(); v != nil {
				total = v.(int64)
			}
			total += msg.(int64)
			ctx.SetValue(total)
			ctx.Loopback("audit-"+ctx.Key(), fmt.Sprintf("%d", msg.(int64)))
			if limit, ok := ctx.Join("limits-table").(int64); ok && total > limit {
				name, _ := ctx.Lookup("names-table", ctx.Key()).(string)
				ctx.Emit("alerts", ctx.Key(), fmt.Sprintf("%s is over the limit: %d > %d", name, total, limit),
					goka.WithCtxEmitHeaders(goka.Headers{"severity": []byte("high")}))
			}
		}),
		goka.Loop(new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.Emit("audit", ctx.Key(), msg)
		}),
		goka.Join("limits-table", new(codec.Int64)),
		goka.Lookup("names-table", new(codec.String)),
		goka.Output("alerts", new(codec.String)),
		goka.Output("audit", new(codec.String)),
		goka.Persist(new(codec.Int64)),
	)
	// "alert-count" consumes the alerts of "spend".
	alertCount := goka.DefineGroup("alert-count",
		goka.Input("alerts", new(codec.String), count),
		goka.Persist(new(codec.Int64)),
	)
	for _, gg := range []*goka.GroupGraph{limits, names, spend, alertCount} {
		proc, err := goka.NewProcessor(nil, gg, goka.WithTester(tt))
		require.NoError(t, err)
		run(t, proc)
	}
	view, err := goka.NewView(nil, "spend-table", new(codec.Int64), goka.WithViewTester(tt))
	require.NoError(t, err)
	run(t, view)
	emitter, err := goka.NewEmitter(nil, "spent", new(codec.Int64), goka.WithEmitterTester(tt))
	require.NoError(t, err)
	defer emitter.Finish()

	alerts := tt.NewQueueTracker("alerts")
	audit := tt.NewQueueTracker("audit")

	tt.Consume("set-limit", "ann", int64(100))
	tt.Consume("set-name", "ann", "Ann")
	tt.Consume("spent", "ann", int64(60))
	_, _, ok := alerts.Next()
	assert.False(t, ok, "no alert below the limit")

	require.NoError(t, emitter.EmitSync("ann", int64(50)))
	headers, key, value, ok := alerts.NextWithHeaders()
	require.True(t, ok)
	assert.Equal(t, "ann", key)
	assert.Equal(t, "Ann is over the limit: 110 > 100", value)
	assert.Equal(t, goka.Headers{"severity": []byte("high")}, headers)

	for _, want := range []string{"60", "50"} {
		key, value, ok := audit.Next()
		require.True(t, ok)
		assert.Equal(t, "audit-ann", key)
		assert.Equal(t, want, value)
	}
	assert.Equal(t, int64(1), tt.TableValue("alert-count-table", "ann"))

	// The view serves what the processor wrote.
	v, err := view.Get("ann")
	require.NoError(t, err)
	assert.Equal(t, int64(110), v)
}

func TestFailingCallbackEndsRun(t *testing.T) {
	tt := New(t)
	gg := goka.DefineGroup("failing", goka.Input("in", new(codec.String), func(ctx goka.Context, msg interface{}) {
		if msg == "bad" {
			ctx.Fail(errors.New("bad message"))
		}
	}))
	proc, err := goka.NewProcessor(nil, gg, goka.WithTester(tt))
	require.NoError(t, err)
	done := run(t, proc)

	tt.Consume("in", "k", "good")
	tt.Consume("in", "k", "bad")
	select {
	case err := <-done:
		done <- err
		var me *goka.MessageError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, "in", me.Topic)
		assert.Equal(t, int64(1), me.Offset)
		assert.Contains(t, err.Error(), "bad message")
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return the callback's failure")
	}
}

// recordingT is a T that records failures instead of stopping the test.
type recordingT struct {
	mu     sync.Mutex
	errors []string
}

func (r *recordingT) Errorf(format string, args ...interface{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recordingT) Fatalf(format string, args ...interface{}) { r.Errorf(format, args...) }
func (r *recordingT) Fatal(a ...interface{})                    { r.Errorf("%s", fmt.Sprint(a...)) }

func TestProcessorThatNeverRunsFailsClearly(t *testing.T) {
	rec := new(recordingT)
	tt := New(rec, WithStartupTimeout(200*time.Millisecond))
	gg := goka.DefineGroup("forgotten", goka.Input("in", new(codec.String), count), goka.Persist(new(codec.Int64)))
	_, err := goka.NewProcessor(nil, gg, goka.WithTester(tt))
	require.NoError(t, err)

	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tt.Consume("in", "k", "v")
	}()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("Consume hangs for a processor that never runs")
	}
	require.Len(t, rec.errors, 1)
	assert.Contains(t, rec.errors[0], `processor "forgotten"`)
	assert.Contains(t, rec.errors[0], "never ran")
}

func TestWithTimeAndHeaders(t *testing.T) {
	tt := New(t)
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var seen []string
	gg := goka.DefineGroup("meta", goka.Input("in", new(codec.String), func(ctx goka.Context, msg interface{}) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%s %s %s", ctx.Timestamp().Format(time.RFC3339), ctx.Headers()["a"], ctx.Headers()["b"]))
	}))
	proc, err := goka.NewProcessor(nil, gg, goka.WithTester(tt))
	require.NoError(t, err)
	run(t, proc)

	tt.Consume("in", "k", "v")
	tt.Consume("in", "k", "v", WithTime(at), WithHeaders(goka.Headers{"a": []byte("1")}), WithHeaders(goka.Headers{"b": []byte("2")}))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"0001-01-01T00:00:00Z  ", "2026-11-27T08:00:00Z 1 2"}, seen)
}

func TestCodecConflictIsReported(t *testing.T) {
	rec := new(recordingT)
	tt := New(rec)
	tt.RegisterEmitter("topic", new(codec.String))
	tt.RegisterEmitter("topic", new(codec.Int64))
	require.Len(t, rec.errors, 1)
	assert.True(t, strings.Contains(rec.errors[0], "*codec.String") && strings.Contains(rec.errors[0], "*codec.Int64"))
}

// A view of a processor's own table must not write old table records over
// the processor's newer values: with a shared store it did, and increments
// were lost.
func TestViewOfOwnTableDoesNotLoseUpdates(t *testing.T) {
	for i := 0; i < 5; i++ {
		tt := New(t)
		gg := goka.DefineGroup("counter",
			goka.Input("clicks", new(codec.String), func(ctx goka.Context, _ interface{}) {
				for i := 0; i < 50; i++ {
					ctx.Loopback(ctx.Key(), "click")
				}
			}),
			goka.Loop(new(codec.String), count),
			goka.Persist(new(codec.Int64)),
		)
		proc, err := goka.NewProcessor(nil, gg, goka.WithTester(tt))
		require.NoError(t, err)
		run(t, proc)
		view, err := goka.NewView(nil, "counter-table", new(codec.Int64), goka.WithViewTester(tt))
		require.NoError(t, err)
		run(t, view)

		tt.Consume("clicks", "alice", "click")
		require.Equal(t, int64(50), tt.TableValue("counter-table", "alice"))
		v, err := view.Get("alice")
		require.NoError(t, err)
		require.Equal(t, int64(50), v, "the view caught up before Consume returned")
	}
}

// TestExactlyOnceProcessorRunsUnderTheTester: the tester has no
// transactions; an exactly-once processor runs there as at-least-once,
// which the tester's synchronous delivery makes exactly once.
func TestExactlyOnceProcessorRunsUnderTheTester(t *testing.T) {
	tt := New(t)
	gg := goka.DefineGroup("counter", goka.Input("clicks", new(codec.String), count), goka.Persist(new(codec.Int64)))
	proc, err := goka.NewProcessor(nil, gg, goka.WithTester(tt), goka.WithExactlyOnce(), goka.WithCommitInterval(time.Hour))
	require.NoError(t, err)
	run(t, proc)
	for i := 0; i < 10; i++ {
		tt.Consume("clicks", fmt.Sprintf("user-%d", i%3), "click")
	}
	assert.Equal(t, int64(4), tt.TableValue("counter-table", "user-0"))
	assert.Equal(t, int64(3), tt.TableValue("counter-table", "user-1"))
}
