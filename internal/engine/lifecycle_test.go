package engine

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/signal"
	"github.com/seed-b2c684ed/goka/internal/stores"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var rewriteTranscripts = flag.Bool("rewrite-transcripts", false, "write the actual output into the transcripts of testdata/partition")

// TestPartitionLifecycle runs the transcripts in testdata/partition: each
// drives one active partition, with a fake producer whose sends
// the script acknowledges, and records what the partition does (sends,
// commits, failures, its state). A transcript is a list of commands, each
// followed by the lines "> ..." it must produce, in order:
//
//	start [cancelled]        Start (with an already cancelled setup context)
//	msg <offset> <key> <actions|nil>
//	                         one input message; the callback performs the
//	                         actions: set:<v> emit:<v> defer fail panic keep
//	fail-kept <offset>       call Fail on a kept Context after its callback
//	                         returned, as a goroutine of the callback would
//	ack <n> / nack <n>       acknowledge or refuse the n-th send
//	release <offset> / release-err <offset>
//	                         release the deferred commit of a message
//	get <key>                read the local table
//	stop / stop-async, wait-stopped
//	                         stop the partition, or start stopping it and
//	                         later wait for Stop to return
//	state                    print the partition's state
//	role <active|passive|recover>
//	                         after a stop: the next session runs the
//	                         partition in this role, on the tables the
//	                         processor's registry kept
//	stored-offset            the offset stored in the group table's store
//	                         (-100: marked dirty, -3: none)
//	builds                   how many stores the storage builder built
//	leave                    the partition leaves the instance: the
//	                         registry closes its tables
//	table-record <offset> <key> <value>
//	                         another instance's write to the group table,
//	                         delivered to the partition's follower
//	table-count              how many table records the partition's table
//	                         read (restored or followed) in all sessions
func TestPartitionLifecycle(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "partition", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			want := string(data)
			got := runLifecycle(t, want)
			if *rewriteTranscripts {
				require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
				return
			}
			assert.Equal(t, want, got, "transcript %s; after a deliberate change, rerun with -rewrite-transcripts and review the diff", file)
		})
	}
}

// runLifecycle executes the commands of a transcript and returns the
// transcript with the lines the partition actually produced.
func runLifecycle(t *testing.T, script string) string {
	rig := newLifecycleRig(t)
	defer rig.close()
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		if strings.HasPrefix(line, ">") {
			continue // expected output: replaced by the actual
		}
		out.WriteString(line)
		out.WriteString("\n")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rig.run(line)
		for _, l := range rig.drain() {
			out.WriteString("> " + l + "\n")
		}
	}
	return out.String()
}

// lifecycleRig is one partition of the plan
//
//	in -> callback -> out, table "lc-table"
//
// (values are strings) with everything outside the partition replaced by
// recorders.
type lifecycleRig struct {
	t  *testing.T
	pp *Partition

	mu       sync.Mutex
	log      []string
	sends    []*scriptedSend
	offsets  map[string]int64 // next offset per topic
	deferred map[int64]func(error)
	kept     map[int64]*Message // messages used after their callback returned
	failed   chan struct{}      // receives when the partition reports a failure

	stopped chan error

	cfg      *Config
	mark     func(topic string, offset int64)
	builds   int
	follower *idlePartitionConsumer // the last table consumer started
}

type scriptedSend struct {
	topic, key string
	finish     func(*sarama.ProducerMessage, error)
}

func newLifecycleRig(t *testing.T) *lifecycleRig {
	rig := &lifecycleRig{
		t:        t,
		offsets:  make(map[string]int64),
		deferred: make(map[int64]func(error)),
		kept:     make(map[int64]*Message),
		failed:   make(chan struct{}, 1),
	}
	build := storage.MemoryBuilder()
	builder := func(topic string, partition int32) (storage.Storage, error) {
		rig.mu.Lock()
		rig.builds++
		rig.mu.Unlock()
		return build(topic, partition)
	}
	rig.cfg = &Config{
		Plan: &Plan{
			Group: "lc",
			Routes: map[string]Route{"in": {
				Decode: func(data []byte) (any, error) { return string(data), nil },
				Handle: rig.callback,
			}},
			Table:      "lc-table",
			Inputs:     []string{"in"},
			Outputs:    []string{"out"},
			Subscribed: []string{"in"},
		},
		Producer:     rig,
		Log:          testLogger{t},
		PartitionLog: func(int32) Logger { return testLogger{t} },
		StopTimeout:  50 * time.Millisecond,
		CacheRows:    true,
		Backoff:      func() (Backoff, error) { return NewLinearBackoff(time.Millisecond, 10*time.Millisecond), nil },
	}
	rig.cfg.Stores = stores.New(func(topic string, partition int32) *table.Partition {
		return table.New(table.Config{
			Topic:     topic,
			Partition: partition,
			Builder:   builder,
			Consumer:  rigConsumer{rig},
			Offsets:   rigTopics{rig: rig},
			Logf:      t.Logf,
		})
	})
	rig.mark = func(topic string, offset int64) {
		rig.printf("mark %s %d", topic, offset)
	}
	rig.newSession(RoleActive)
	return rig
}

// newSession replaces the partition processor by one of the next session.
func (r *lifecycleRig) newSession(role Role) {
	mark := r.mark
	if role != RoleActive {
		mark = nil
	}
	r.pp = NewPartition(r.cfg, 0, role, mark)
	r.pp.onFail = func(err error) {
		r.printf("fail: %s", firstLine(err))
		r.failed <- struct{}{}
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func (r *lifecycleRig) printf(format string, args ...interface{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, fmt.Sprintf(format, args...))
}

func (r *lifecycleRig) drain() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log
	r.log = nil
	return l
}

func (r *lifecycleRig) close() {
	_ = r.pp.Stop()
	require.NoError(r.t, r.cfg.Stores.Close())
}

// callback performs the actions named in the message.
func (r *lifecycleRig) callback(ctx *Message, msg any) {
	if msg == nil {
		r.printf("callback %s nil", ctx.Key())
		return
	}
	for _, action := range strings.Fields(msg.(string)) {
		name, arg, _ := strings.Cut(action, ":")
		switch name {
		case "set":
			ctx.WriteTable([]byte(arg), nil)
		case "emit":
			ctx.Send("out", ctx.Key(), []byte(arg), nil)
		case "defer":
			release := ctx.DeferCommit()
			r.mu.Lock()
			r.deferred[ctx.Offset()] = release
			r.mu.Unlock()
		case "keep":
			r.mu.Lock()
			r.kept[ctx.Offset()] = ctx
			r.mu.Unlock()
		case "fail":
			ctx.Fail(errBoom)
		case "panic":
			panic("kaboom")
		default:
			r.t.Fatalf("unknown action %q", action)
		}
	}
}

func (r *lifecycleRig) run(line string) {
	t := r.t
	f := strings.Fields(line)
	arg := func(i int) int64 {
		n, err := strconv.ParseInt(f[i], 10, 64)
		require.NoError(t, err, line)
		return n
	}
	switch f[0] {
	case "start":
		setup := context.Background()
		if len(f) > 1 && f[1] == "cancelled" {
			ctx, cancel := context.WithCancel(setup)
			cancel()
			setup = ctx
		}
		err := r.pp.Start(setup, context.Background())
		r.printf("start: %v, state %s", err, stateName(r.pp.state.State()))
	case "msg":
		require.GreaterOrEqual(t, len(f), 3, line)
		msg := &sarama.ConsumerMessage{Topic: "in", Partition: 0, Offset: arg(1), Key: []byte(f[2])}
		switch {
		case len(f) == 3:
			msg.Value = []byte{} // a callback with nothing to do
		case f[3] != "nil":
			msg.Value = []byte(strings.Join(f[3:], " "))
		}
		r.deliver(msg)
	case "ack", "nack":
		r.mu.Lock()
		s := r.sends[arg(1)]
		offset := r.offsets[s.topic]
		r.offsets[s.topic]++
		r.mu.Unlock()
		if f[0] == "ack" {
			s.finish(&sarama.ProducerMessage{Topic: s.topic, Offset: offset}, nil)
		} else {
			s.finish(nil, errBoom)
		}
	case "release", "release-err":
		r.mu.Lock()
		release := r.deferred[arg(1)]
		r.mu.Unlock()
		require.NotNil(t, release, line)
		if f[0] == "release" {
			release(nil)
		} else {
			release(errBoom)
		}
	case "fail-kept":
		r.mu.Lock()
		ctx := r.kept[arg(1)]
		r.mu.Unlock()
		require.NotNil(t, ctx, line)
		ctx.Fail(errBoom)
	case "get":
		v, err := r.pp.TableRows().Get(f[1])
		r.printf("%s=%q %v", f[1], v, err)
	case "acked-table-offset":
		r.printf("acked table offset %d", r.pp.acked.Load())
	case "stop":
		r.printf("stopped: %v, state %s", stopErr(r.pp.Stop()), stateName(r.pp.state.State()))
	case "stop-async":
		r.stopped = make(chan error, 1)
		go func() { r.stopped <- r.pp.Stop() }()
		<-r.pp.state.WaitForState(PartStopping)
	case "wait-stopped":
		r.printf("stopped: %v, state %s", stopErr(receive(t, r.stopped)), stateName(r.pp.state.State()))
	case "state":
		r.printf("state %s", stateName(r.pp.state.State()))
	case "role":
		require.Contains(t, []signal.State{PartIdle, PartStopped}, r.pp.state.State(), "a new session starts after the stop: %s", line)
		role := map[string]Role{"active": RoleActive, "passive": RolePassive, "recover": RoleRecoverOnly}[f[1]]
		r.newSession(role)
		r.printf("session as %s", f[1])
	case "stored-offset":
		st := r.pp.table.Storage()
		if st == nil {
			r.printf("no store")
			break
		}
		offset, err := st.GetOffset(-3)
		r.printf("stored offset %d %v", offset, stopErr(err))
	case "builds":
		r.mu.Lock()
		n := r.builds
		r.mu.Unlock()
		r.printf("%d stores built", n)
	case "table-record":
		offset := arg(1)
		r.mu.Lock()
		r.offsets["lc-table"] = max(r.offsets["lc-table"], offset+1)
		r.mu.Unlock()
		// The follower starts its consumer in a goroutine of its own.
		var pc *idlePartitionConsumer
		eventually(t, "a follower for "+line, func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.follower != nil && !r.follower.closed.Load() {
				pc = r.follower
			}
			return pc != nil
		})
		select {
		case pc.msgs <- &sarama.ConsumerMessage{Topic: "lc-table", Partition: 0, Offset: offset, Key: []byte(f[2]), Value: []byte(f[3])}:
		case <-time.After(10 * time.Second):
			t.Fatalf("the follower does not take records: %s", line)
		}
		eventually(t, "the follower to apply "+line, func() bool { return r.pp.table.Stats().Input.LastOffset >= offset })
		r.printf("applied %d", offset)
	case "table-count":
		r.printf("%d table records read", r.pp.table.Stats().Input.Count)
	case "leave":
		err := r.cfg.Stores.Retain(func(int32) bool { return false })
		r.printf("left: %v", stopErr(err))
	default:
		t.Fatalf("unknown command %q", line)
	}
}

func stopErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return firstLine(err)
}

// deliver hands a message to the partition's goroutine and waits until it
// handled it: the input channel is unbuffered, and a visit queued after it
// runs only once the goroutine is done with the message. A message that
// fails the partition ends the goroutine instead.
func (r *lifecycleRig) deliver(msg *sarama.ConsumerMessage) {
	select {
	case r.pp.input <- msg:
	case <-time.After(10 * time.Second):
		r.t.Fatal("the partition does not take messages")
	}
	barrier := make(chan struct{})
	r.pp.visits <- &visitRequest{
		cb:   func(*Message, any) { close(barrier) },
		done: func(error) {},
	}
	select {
	case <-barrier:
	case <-r.failed:
	case <-time.After(10 * time.Second):
		r.t.Fatal("the partition did not handle the message")
	}
}

func stateName(s signal.State) string {
	return map[signal.State]string{
		PartIdle: "idle", PartRecovering: "recovering", PartRunning: "running",
		PartStopping: "stopping", PartStopped: "stopped",
	}[s]
}

// The rig is the partition's producer: it records every send and leaves
// its acknowledgement to the script.
func (r *lifecycleRig) Send(topic, key string, value []byte, _ map[string][]byte, done func(*sarama.ProducerMessage, error)) {
	r.mu.Lock()
	n := len(r.sends)
	r.sends = append(r.sends, &scriptedSend{topic: topic, key: key, finish: done})
	r.mu.Unlock()
	r.printf("send %d: %s %s=%q", n, topic, key, value)
}

// emptyTopics are topics that are all empty, so a table partition restores
// nothing and never starts a consumer.
type emptyTopics struct{}

func (emptyTopics) GetOffset(string, int32, int64) (int64, error) { return 0, nil }

// rigTopics are topics that hold what the script acknowledged: their
// high-water mark is the rig's next offset, so a table whose store has
// every acknowledged write restores nothing.
type rigTopics struct {
	rig *lifecycleRig
}

func (t rigTopics) GetOffset(topic string, _ int32, at int64) (int64, error) {
	if at == sarama.OffsetOldest {
		return 0, nil
	}
	t.rig.mu.Lock()
	defer t.rig.mu.Unlock()
	return t.rig.offsets[topic], nil
}

// rigConsumer gives partition consumers that receive only what the script
// sends them (table-record), and nothing else until they are closed.
type rigConsumer struct {
	rig *lifecycleRig
}

func (c rigConsumer) ConsumePartition(string, int32, int64) (sarama.PartitionConsumer, error) {
	pc := &idlePartitionConsumer{
		msgs: make(chan *sarama.ConsumerMessage),
		errs: make(chan *sarama.ConsumerError),
	}
	c.rig.mu.Lock()
	c.rig.follower = pc
	c.rig.mu.Unlock()
	return pc, nil
}

type idlePartitionConsumer struct {
	sarama.PartitionConsumer
	msgs   chan *sarama.ConsumerMessage
	errs   chan *sarama.ConsumerError
	once   sync.Once
	closed atomic.Bool
}

func (c *idlePartitionConsumer) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }
func (c *idlePartitionConsumer) Errors() <-chan *sarama.ConsumerError     { return c.errs }
func (c *idlePartitionConsumer) HighWaterMarkOffset() int64               { return 0 }
func (c *idlePartitionConsumer) AsyncClose() {
	c.once.Do(func() {
		c.closed.Store(true)
		close(c.msgs)
		close(c.errs)
	})
}

func (c *idlePartitionConsumer) Close() error {
	c.AsyncClose()
	return nil
}

var _ Producer = (*lifecycleRig)(nil)

var errBoom = errors.New("boom")

// testLogger logs to the test.
type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, args ...any) { l.t.Logf(format, args...) }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-ticker.C
	}
}

// receive takes a value from ch, failing the test after 10 s.
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
