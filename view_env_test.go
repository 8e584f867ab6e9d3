package goka

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/proxy"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
)

// viewEnv is an embedded broker for view tests, optionally behind a proxy
// that cuts the view's connections while the test's writer goes around it.
type viewEnv struct {
	t       *testing.T
	cluster *kafkatest.Cluster
	proxy   *proxy.Proxy // nil unless proxied
	brokers []string
	// config is the view's: short timeouts and retries, so a cut is noticed
	// and survived in milliseconds rather than sarama's seconds.
	config *sarama.Config
	// writer is the emitter's; it never goes through the proxy.
	writer *sarama.Config
	tmc    *TopicManagerConfig
}

func newViewEnv(t *testing.T, proxied bool) *viewEnv {
	t.Helper()
	e := &viewEnv{t: t}
	var opts []kafkatest.Option
	var perr error
	if proxied {
		opts = append(opts, kafkatest.WithAdvertisedAddr(func(listen string) string {
			e.proxy, perr = proxy.New(listen)
			if perr != nil {
				return listen
			}
			return e.proxy.Addr()
		}))
	}
	cluster, err := kafkatest.NewCluster(opts...)
	if e.proxy != nil {
		// Registered first, so it runs after the cluster's Close: the
		// broker's connections end at the broker, not at the proxy.
		t.Cleanup(func() { require.NoError(t, e.proxy.Close()) })
	}
	require.NoError(t, perr)
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	e.cluster = cluster
	e.brokers = cluster.Addrs()

	e.config = DefaultConfig()
	e.config.Consumer.MaxWaitTime = 20 * time.Millisecond
	e.config.Consumer.Retry.Backoff = 20 * time.Millisecond
	e.config.Net.DialTimeout = time.Second
	e.config.Net.ReadTimeout = 2 * time.Second
	e.config.Net.WriteTimeout = 2 * time.Second
	e.config.Metadata.Retry.Max = 1
	e.config.Metadata.Retry.Backoff = 20 * time.Millisecond

	e.writer = DefaultConfig()
	e.writer.Producer.Flush.Frequency = 5 * time.Millisecond
	if e.proxy != nil {
		e.writer.Net.Proxy.Enable = true
		e.writer.Net.Proxy.Dialer = bypassDialer{from: e.proxy.Addr(), to: e.proxy.Target()}
	}

	e.tmc = NewTopicManagerConfig()
	e.tmc.Table.Replication = 1
	e.tmc.Stream.Replication = 1
	return e
}

// bypassDialer dials the broker itself where a client would dial the proxy.
type bypassDialer struct{ from, to string }

func (d bypassDialer) Dial(network, addr string) (net.Conn, error) {
	if addr == d.from {
		addr = d.to
	}
	return (&net.Dialer{Timeout: 5 * time.Second}).Dial(network, addr)
}

// createTable creates a compacted topic.
func (e *viewEnv) createTable(topic string, partitions int32) {
	e.t.Helper()
	require.NoError(e.t, e.cluster.CreateTopic(topic, partitions, map[string]string{"cleanup.policy": "compact"}))
}

// write sends key/value pairs to topic and waits for every ack; a nil value
// is a tombstone.
func (e *viewEnv) write(topic string, pairs ...tableRecord) {
	e.t.Helper()
	em, err := NewEmitter(e.brokers, Stream(topic), new(codec.String),
		WithEmitterProducerBuilder(ProducerBuilderWithConfig(e.writer)))
	require.NoError(e.t, err)
	for _, p := range pairs {
		var value interface{}
		if p.value != nil {
			value = *p.value
		}
		require.NoError(e.t, em.EmitSync(p.key, value), "writing %q", p.key)
	}
	require.NoError(e.t, em.Finish())
}

// tableRecord is one record to write; value nil is a tombstone.
type tableRecord struct {
	key   string
	value *string
}

func upsert(key, value string) tableRecord { return tableRecord{key: key, value: &value} }
func tombstone(key string) tableRecord     { return tableRecord{key: key} }

// options are the view options of e with memory storage.
func (e *viewEnv) options(extra ...ViewOption) []ViewOption {
	opts := []ViewOption{
		WithViewStorageBuilder(storage.MemoryBuilder()),
		WithViewTopicManagerBuilder(TopicManagerBuilderWithConfig(e.config, e.tmc)),
		WithViewConsumerSaramaBuilder(SaramaConsumerBuilderWithConfig(e.config)),
		WithViewLogger(testLogger{e.t}),
	}
	return append(opts, extra...)
}

func (e *viewEnv) newView(topic string, extra ...ViewOption) *View {
	e.t.Helper()
	v, err := NewView(e.brokers, Table(topic), new(codec.String), e.options(extra...)...)
	require.NoError(e.t, err)
	return v
}

// viewRun is a view whose Run runs in the background.
type viewRun struct {
	*View
	cancel context.CancelFunc
	done   chan error
}

// run starts v; the test's cleanup stops it and waits for Run.
func (e *viewEnv) run(v *View) *viewRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &viewRun{View: v, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- v.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(kafkaWait):
			e.t.Error("view did not stop")
		}
	})
	return r
}

// stop cancels Run and returns its result.
func (r *viewRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// wait returns Run's result once it has ended.
func (r *viewRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(kafkaWait):
		t.Fatal("Run did not return")
		return nil
	}
}

// recovered waits for the view's first recovery.
func (r *viewRun) recovered(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaWait)
	defer cancel()
	require.NoError(t, r.WaitRecovered(ctx))
}

// viewString reads key, which must hold a string or be absent ("").
func viewString(t *testing.T, v *View, key string) string {
	t.Helper()
	value, err := v.Get(key)
	require.NoError(t, err, "Get(%q)", key)
	if value == nil {
		return ""
	}
	return value.(string)
}

// stateRecorder records the states an observer sees, in order. The
// observer skips states it has no time to deliver, so a sequence may miss
// one, but never holds one out of order. It records them as the ViewStates
// they are.
type stateRecorder struct {
	obs    *StateChangeObserver
	states chan ViewState
}

func recordStates(v *View) *stateRecorder {
	r := &stateRecorder{obs: v.ObserveStateChanges(), states: make(chan ViewState, 1000)}
	// The current state is taken here, before anything can replace it.
	r.states <- ViewState(<-r.obs.C())
	go func() {
		defer close(r.states)
		for s := range r.obs.C() {
			r.states <- ViewState(s)
		}
	}()
	return r
}

// until returns the states seen up to and including want, failing when
// want does not come.
func (r *stateRecorder) until(t *testing.T, want ViewState) []ViewState {
	t.Helper()
	var seen []ViewState
	deadline := time.After(kafkaWait)
	for {
		select {
		case s, ok := <-r.states:
			if !ok {
				t.Fatalf("observer closed before state %d; saw %v", want, seen)
			}
			seen = append(seen, s)
			if s == want {
				return seen
			}
		case <-deadline:
			t.Fatalf("state %d did not come; saw %v", want, seen)
		}
	}
}

// stop ends the observer and drains what is left.
func (r *stateRecorder) stop() []ViewState {
	r.obs.Stop()
	var rest []ViewState
	for s := range r.states {
		rest = append(rest, s)
	}
	return rest
}

// matchesAll reports whether err matches every target.
func matchesAll(err error, targets ...error) bool {
	for _, target := range targets {
		if !errors.Is(err, target) {
			return false
		}
	}
	return true
}
