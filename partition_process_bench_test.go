package goka

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/require"
)

// BenchmarkPartitionProcess measures the partition's own cost of one
// message (decode, callback with Value, SetValue and Emit, the writes'
// acknowledgements and the commit), with a producer that acknowledges at
// once and memory storage: what the library adds around a callback, without
// Kafka.
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
	require.NoError(b, gg.Validate())
	opts := new(poptions)
	require.NoError(b, opts.applyOptions(gg, WithStorageBuilder(storage.MemoryBuilder()), WithLogger(benchLogger{b})))
	p := &Processor{graph: gg, opts: opts, log: opts.log, producer: new(ackingProducer), consumer: noConsumer{}, tmgr: emptyTopics{}}
	pp := newPartitionProcessor(p, 0, runModeActive, func(string, int64) {})
	require.NoError(b, pp.Start(context.Background(), context.Background()))
	defer func() { _ = pp.Stop() }()

	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = []byte("key-" + strconv.Itoa(i))
	}
	msg := &sarama.ConsumerMessage{Topic: "in", Value: []byte("1")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg.Offset = int64(i)
		msg.Key = keys[i%len(keys)]
		if err := pp.process(msg); err != nil {
			b.Fatal(err)
		}
	}
}

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
