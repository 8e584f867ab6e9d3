package health

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sarama's go-metrics starts a process-wide ticker on its first
		// meter, which runs until the process exits by design.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	)
}

// env is an embedded broker, the options that make processors, views and
// emitters on it fast, and a health server over HTTP.
type env struct {
	t       *testing.T
	cluster *kafkatest.Cluster
	brokers []string
	config  *sarama.Config
	tmc     *goka.TopicManagerConfig

	probes *Server
	url    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cluster, err := kafkatest.NewCluster()
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	config := goka.DefaultConfig()
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	config.Consumer.MaxWaitTime = 20 * time.Millisecond
	config.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	config.Producer.Flush.Frequency = 5 * time.Millisecond
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1

	router := mux.NewRouter()
	probes := NewServer("", router, WithLogger(discard{}))
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return &env{t: t, cluster: cluster, brokers: cluster.Addrs(), config: config, tmc: tmc, probes: probes, url: srv.URL}
}

func (e *env) createTopic(topic string, partitions int32) {
	e.t.Helper()
	require.NoError(e.t, e.cluster.CreateTopic(topic, partitions, nil))
}

func (e *env) processor(gg *goka.GroupGraph, sb storage.Builder, extra ...goka.ProcessorOption) *goka.Processor {
	e.t.Helper()
	p, err := goka.NewProcessor(e.brokers, gg, append([]goka.ProcessorOption{
		goka.WithStorageBuilder(sb),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(e.config, e.tmc)),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(e.config)),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(e.config)),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(e.config)),
		goka.WithLogger(discard{}),
	}, extra...)...)
	require.NoError(e.t, err)
	return p
}

func (e *env) view(table goka.Table, c goka.Codec, sb storage.Builder) *goka.View {
	e.t.Helper()
	v, err := goka.NewView(e.brokers, table, c,
		goka.WithViewStorageBuilder(sb),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(e.config, e.tmc)),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(e.config)),
		goka.WithViewLogger(discard{}),
	)
	require.NoError(e.t, err)
	return v
}

func (e *env) emitter(topic goka.Stream, c goka.Codec) *goka.Emitter {
	e.t.Helper()
	em, err := goka.NewEmitter(e.brokers, topic, c, goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(e.config)))
	require.NoError(e.t, err)
	return em
}

// emitSync sends messages and finishes the emitter.
func (e *env) emitSync(topic goka.Stream, c goka.Codec, msgs ...[2]any) {
	e.t.Helper()
	em := e.emitter(topic, c)
	for _, m := range msgs {
		require.NoError(e.t, em.EmitSync(m[0].(string), m[1]))
	}
	require.NoError(e.t, em.Finish())
}

// running is a Run in the background.
type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned, after err is set
	err    error
}

// run starts r in the background; the test's cleanup stops it.
func run(t *testing.T, r interface{ Run(context.Context) error }) *running {
	ctx, cancel := context.WithCancel(context.Background())
	rn := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(rn.done)
		rn.err = r.Run(ctx)
	}()
	t.Cleanup(func() { _ = rn.stop(t) })
	return rn
}

// stop cancels Run and returns what it returned.
func (rn *running) stop(t *testing.T) error {
	rn.cancel()
	return rn.wait(t)
}

// wait returns what Run returned once it did.
func (rn *running) wait(t *testing.T) error {
	select {
	case <-rn.done:
		return rn.err
	case <-time.After(30 * time.Second):
		t.Error("Run did not return")
		return nil
	}
}

// probe is one answer of the server.
type probe struct {
	status int
	header http.Header
	body   string
	answer answer
}

func (e *env) get(path string) probe {
	e.t.Helper()
	return request(e.t, http.MethodGet, e.url+path)
}

func request(t *testing.T, method, url string) probe {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	p := probe{status: resp.StatusCode, header: resp.Header, body: string(body)}
	if method == http.MethodGet && resp.Header.Get("Content-Type") == "application/json" {
		require.NoError(t, json.Unmarshal(body, &p.answer), "body %s", body)
	}
	return p
}

// problems returns the problems of the check named name.
func (p probe) problems(name string) []string {
	for _, c := range p.answer.Checks {
		if c.Name == name {
			return c.Problems
		}
	}
	return nil
}

// awaitProbe polls path until cond holds for its answer, failing with the
// last answer after the deadline.
func (e *env) awaitProbe(path, what string, cond func(probe) bool) probe {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := e.get(path)
		if cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s on %s; the last answer: %d %s", what, path, p.status, p.body)
		}
		time.Sleep(20 * time.Millisecond) // polling, as a prober does
	}
}

// mentions reports whether the answer is status and one of the problems of
// check name contains every part.
func mentions(status int, name string, parts ...string) func(probe) bool {
	return func(p probe) bool {
		if p.status != status {
			return false
		}
	next:
		for _, line := range p.problems(name) {
			for _, part := range parts {
				if !strings.Contains(line, part) {
					continue next
				}
			}
			return true
		}
		return false
	}
}

func is(status int) func(probe) bool { return func(p probe) bool { return p.status == status } }

// partitionOf is the partition goka's default hasher puts key in.
func partitionOf(key string, partitions int32) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	p := int32(h.Sum32()) % partitions
	if p < 0 {
		p = -p
	}
	return p
}

// gate is a storage builder whose stores hold every write until the test
// opens their partition's gate: a table restore that cannot finish before
// the test lets it.
type gate struct {
	mu     sync.Mutex
	opened map[int32]chan struct{}
	// over ends with the test, before its cleanups stop the processors: a
	// test that fails early must not leave a restore hanging.
	over context.Context
}

func newGate(t *testing.T) *gate {
	return &gate{opened: make(map[int32]chan struct{}), over: t.Context()}
}

// partition returns the gate of one partition.
func (g *gate) partition(p int32) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.locked(p)
}

func (g *gate) locked(p int32) chan struct{} {
	c, ok := g.opened[p]
	if !ok {
		c = make(chan struct{})
		g.opened[p] = c
	}
	return c
}

// openPartition lets the writes of partition p through.
func (g *gate) openPartition(p int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.locked(p)
	select {
	case <-c:
	default:
		close(c)
	}
}

// open lets every write through.
func (g *gate) open() {
	for p := range int32(64) {
		g.openPartition(p)
	}
}

func (g *gate) builder(topic string, partition int32) (storage.Storage, error) {
	return &gatedStorage{Storage: storage.NewMemory(), opened: g.partition(partition), over: g.over}, nil
}

// gatedStorage embeds only the Storage interface, so the restore writes
// through Set rather than a batch.
type gatedStorage struct {
	storage.Storage
	opened <-chan struct{}
	over   context.Context
}

func (s *gatedStorage) Set(key string, value []byte) error {
	select {
	case <-s.opened:
	case <-s.over.Done():
		return s.over.Err()
	}
	return s.Storage.Set(key, value)
}

type discard struct{}

func (discard) Print(...interface{})          {}
func (discard) Println(...interface{})        {}
func (discard) Printf(string, ...interface{}) {}

func memory(string, int32) (storage.Storage, error) { return storage.NewMemory(), nil }
