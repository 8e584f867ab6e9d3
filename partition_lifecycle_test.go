package goka

import (
	"context"
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
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/stores"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var rewriteTranscripts = flag.Bool("rewrite-transcripts", false, "write the actual output into the transcripts of testdata/partition")

// TestPartitionLifecycle runs the transcripts in testdata/partition: each
// drives one active partition processor, with a fake producer whose sends
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

// lifecycleRig is one partition processor of the graph
//
//	in (String) -> callback -> out (String), table "lc-table" (String)
//
// with everything outside the partition replaced by recorders.
type lifecycleRig struct {
	t  *testing.T
	pp *PartitionProcessor

	mu       sync.Mutex
	log      []string
	sends    []*scriptedSend
	offsets  map[string]int64 // next offset per topic
	deferred map[int64]func(error)
	kept     map[int64]Context // contexts used after their callback returned
	failed   chan struct{}     // receives when the partition reports a failure

	stopped chan error

	proc     *Processor
	mark     func(topic string, offset int64)
	builds   int
	follower *idlePartitionConsumer // the last table consumer started
}

type scriptedSend struct {
	topic, key string
	finish     PromiseFinisher
}

func newLifecycleRig(t *testing.T) *lifecycleRig {
	rig := &lifecycleRig{
		t:        t,
		offsets:  make(map[string]int64),
		deferred: make(map[int64]func(error)),
		kept:     make(map[int64]Context),
		failed:   make(chan struct{}, 1),
	}
	gg := DefineGroup("lc",
		Input("in", new(codec.String), rig.callback),
		Output("out", new(codec.String)),
		Persist(new(codec.String)))
	require.NoError(t, gg.Validate())
	opts := new(poptions)
	build := storage.MemoryBuilder()
	require.NoError(t, opts.applyOptions(gg,
		WithStorageBuilder(func(topic string, partition int32) (storage.Storage, error) {
			rig.mu.Lock()
			rig.builds++
			rig.mu.Unlock()
			return build(topic, partition)
		}),
		WithPartitionChannelSize(0),
		WithLogger(testLogger{t})))
	opts.stopTimeout = 50 * time.Millisecond
	p := &Processor{graph: gg, opts: opts, log: opts.log, producer: rig, consumer: rigConsumer{rig}, tmgr: rigTopics{rig: rig}}
	p.stores = stores.New(func(topic string, partition int32) *table.Partition {
		return p.newTablePartition(topic, partition, opts.updateCallback)
	})
	rig.proc = p
	rig.mark = func(topic string, offset int64) {
		rig.printf("mark %s %d", topic, offset)
	}
	rig.newSession(runModeActive)
	return rig
}

// newSession replaces the partition processor by one of the next session.
func (r *lifecycleRig) newSession(mode PPRunMode) {
	mark := r.mark
	if mode != runModeActive {
		mark = nil
	}
	r.pp = newPartitionProcessor(r.proc, 0, mode, mark)
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
	require.NoError(r.t, r.proc.stores.Close())
}

// callback performs the actions named in the message.
func (r *lifecycleRig) callback(ctx Context, msg interface{}) {
	if msg == nil {
		r.printf("callback %s nil", ctx.Key())
		return
	}
	for _, action := range strings.Fields(msg.(string)) {
		name, arg, _ := strings.Cut(action, ":")
		switch name {
		case "set":
			ctx.SetValue(arg)
		case "emit":
			ctx.Emit("out", ctx.Key(), arg)
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
		r.printf("start: %v, state %s", err, ppStateName(r.pp.state.State()))
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
		v, err := r.pp.tableRows().Get(f[1])
		r.printf("%s=%q %v", f[1], v, err)
	case "acked-table-offset":
		r.printf("acked table offset %d", r.pp.acked.Load())
	case "stop":
		r.printf("stopped: %v, state %s", stopErr(r.pp.Stop()), ppStateName(r.pp.state.State()))
	case "stop-async":
		r.stopped = make(chan error, 1)
		go func() { r.stopped <- r.pp.Stop() }()
		<-r.pp.state.WaitForState(PPStateStopping)
	case "wait-stopped":
		r.printf("stopped: %v, state %s", stopErr(receive(t, r.stopped)), ppStateName(r.pp.state.State()))
	case "state":
		r.printf("state %s", ppStateName(r.pp.state.State()))
	case "role":
		require.Contains(t, []State{PPStateIdle, PPStateStopped}, r.pp.state.State(), "a new session starts after the stop: %s", line)
		mode := map[string]PPRunMode{"active": runModeActive, "passive": runModePassive, "recover": runModeRecoverOnly}[f[1]]
		r.newSession(mode)
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
		err := r.proc.stores.Retain(func(int32) bool { return false })
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
		cb:   func(Context, interface{}) { close(barrier) },
		done: func(error) {},
	}
	select {
	case <-barrier:
	case <-r.failed:
	case <-time.After(10 * time.Second):
		r.t.Fatal("the partition did not handle the message")
	}
}

func ppStateName(s State) string {
	return map[State]string{
		PPStateIdle: "idle", PPStateRecovering: "recovering", PPStateRunning: "running",
		PPStateStopping: "stopping", PPStateStopped: "stopped",
	}[s]
}

// The rig is the partition's producer: it records every send and leaves
// the promise to the script.

func (r *lifecycleRig) Emit(topic, key string, value []byte) *Promise {
	return r.EmitWithHeaders(topic, key, value, nil)
}

func (r *lifecycleRig) EmitWithHeaders(topic, key string, value []byte, _ Headers) *Promise {
	p, finish := NewPromiseWithFinisher()
	r.mu.Lock()
	n := len(r.sends)
	r.sends = append(r.sends, &scriptedSend{topic: topic, key: key, finish: finish})
	r.mu.Unlock()
	r.printf("send %d: %s %s=%q", n, topic, key, value)
	return p
}

func (r *lifecycleRig) Close() error { return nil }

// emptyTopics is a topic manager whose topics are all empty, so a table
// partition restores nothing and never starts a consumer.
type emptyTopics struct{ TopicManager }

func (emptyTopics) GetOffset(string, int32, int64) (int64, error) { return 0, nil }

// rigTopics is a topic manager whose topics hold what the script
// acknowledged: their high-water mark is the rig's next offset, so a table
// whose store has every acknowledged write restores nothing.
type rigTopics struct {
	TopicManager
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

// The rig's consumer is used only for consuming partitions.
func (rigConsumer) Topics() ([]string, error)                  { return nil, nil }
func (rigConsumer) Partitions(string) ([]int32, error)         { return nil, nil }
func (rigConsumer) HighWaterMarks() map[string]map[int32]int64 { return nil }
func (rigConsumer) Close() error                               { return nil }
func (rigConsumer) Pause(map[string][]int32)                   {}
func (rigConsumer) Resume(map[string][]int32)                  {}
func (rigConsumer) PauseAll()                                  {}
func (rigConsumer) ResumeAll()                                 {}

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

// noConsumer is a sarama consumer that must never be used.
type noConsumer struct{ sarama.Consumer }

var _ Producer = (*lifecycleRig)(nil)
