package goka

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/engine"
	"github.com/seed-b2c684ed/goka/internal/stores"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/require"
)

// BenchmarkPartitionProcess measures what the library adds around a
// callback for one message, on its whole path through one partition:
// the claim's hand-over to the partition's goroutine, decoding, a callback
// that reads its row and calls SetValue and Emit, the writes'
// acknowledgements and the commit mark. The producer acknowledges at once
// and the storage is memory: no Kafka.
func BenchmarkPartitionProcess(b *testing.B) {
	gg := DefineGroup("bench",
		Input("in", new(codec.Int64), func(ctx Context, msg interface{}) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
			ctx.Emit("out", ctx.Key(), msg)
		}),
		Output("out", new(codec.Int64)),
		Persist(new(codec.Int64)))
	group, session := newBenchGroup(b, gg)

	claim := &benchClaim{msgs: make(chan *sarama.ConsumerMessage, 256)}
	consumed := make(chan error, 1)
	go func() { consumed <- group.ConsumeClaim(session, claim) }()
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = []byte("key-" + strconv.Itoa(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		claim.msgs <- &sarama.ConsumerMessage{Topic: "in", Offset: int64(i), Key: keys[i%len(keys)], Value: []byte("1")}
	}
	session.waitMarked(b, int64(b.N))
	b.StopTimer()
	close(claim.msgs)
	require.NoError(b, <-consumed)
	require.NoError(b, group.Cleanup(session))
}

// newBenchGroup sets up a session of one partition of gg, with memory
// storage, empty topics and a producer that acknowledges at once.
func newBenchGroup(b *testing.B, gg *GroupGraph) (sarama.ConsumerGroupHandler, *benchSession) {
	b.Helper()
	opts := new(poptions)
	require.NoError(b, opts.applyOptions(gg, WithStorageBuilder(storage.MemoryBuilder()), WithLogger(benchLogger{b})))
	compiled, err := compileGraph(gg, opts)
	require.NoError(b, err)
	p := &Processor{graph: gg, compiled: compiled, opts: opts, log: opts.log, producer: new(ackingProducer), consumer: noConsumer{}, tmgr: emptyTopics{},
		numPartitions: 1, state: NewSignal(ProcStateIdle, ProcStateStarting, ProcStateSetup, ProcStateRunning, ProcStateStopping, ProcStateStopped)}
	p.stores = stores.New(func(topic string, partition int32) *table.Partition {
		return p.newTablePartition(topic, partition, opts.updateCallback)
	})
	b.Cleanup(func() { _ = p.stores.Close() })
	group := engine.NewGroup(p.engineConfig(), p.state)
	session := &benchSession{ctx: context.Background(), claims: map[string][]int32{"in": {0}}}
	session.cond = sync.NewCond(&session.mu)
	require.NoError(b, group.Setup(session))
	return group, session
}

// benchSession is a consumer group session of one partition that records
// the marked offset.
type benchSession struct {
	sarama.ConsumerGroupSession
	ctx    context.Context
	claims map[string][]int32
	mu     sync.Mutex
	cond   *sync.Cond
	marked int64
}

func (s *benchSession) Claims() map[string][]int32 { return s.claims }
func (s *benchSession) Context() context.Context   { return s.ctx }
func (s *benchSession) Commit()                    {}
func (s *benchSession) MarkOffset(_ string, _ int32, offset int64, _ string) {
	s.mu.Lock()
	s.marked = offset
	s.mu.Unlock()
	s.cond.Broadcast()
}

// waitMarked waits until offset is marked.
func (s *benchSession) waitMarked(b *testing.B, offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.marked < offset {
		s.cond.Wait()
	}
}

// benchClaim is the claim of partition 0 of "in".
type benchClaim struct {
	sarama.ConsumerGroupClaim
	msgs chan *sarama.ConsumerMessage
}

func (c *benchClaim) Topic() string                            { return "in" }
func (c *benchClaim) Partition() int32                         { return 0 }
func (c *benchClaim) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }
func (c *benchClaim) HighWaterMarkOffset() int64               { return 0 }
func (c *benchClaim) InitialOffset() int64                     { return 0 }

// ackingProducer acknowledges every message as it is sent.
type ackingProducer struct{ offset atomic.Int64 }

func (p *ackingProducer) Emit(topic, key string, value []byte) *Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *ackingProducer) EmitWithHeaders(topic, key string, value []byte, _ Headers) *Promise {
	promise, finish := NewPromiseWithFinisher()
	finish(&sarama.ProducerMessage{Topic: topic, Offset: p.offset.Add(1)}, nil)
	return promise
}

func (p *ackingProducer) Close() error { return nil }

type benchLogger struct{ b *testing.B }

func (l benchLogger) Print(v ...interface{})                 { l.b.Log(v...) }
func (l benchLogger) Println(v ...interface{})               { l.b.Log(v...) }
func (l benchLogger) Printf(format string, v ...interface{}) { l.b.Logf(format, v...) }

// emptyTopics is a topic manager whose topics are all empty, so a table
// partition restores nothing and never starts a consumer.
type emptyTopics struct{ TopicManager }

func (emptyTopics) GetOffset(string, int32, int64) (int64, error) { return 0, nil }

// noConsumer is a sarama consumer that must never be used.
type noConsumer struct{ sarama.Consumer }
