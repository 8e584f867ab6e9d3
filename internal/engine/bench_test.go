package engine

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/stores"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/require"
)

// BenchmarkPartitionProcess measures the partition's own cost of one
// message (decode, a callback that reads the row, writes it and emits, the
// writes' acknowledgements and the commit), with a producer that
// acknowledges at once and memory storage: what the engine adds around a
// callback, without Kafka. The root package's benchmark of the same name
// adds the Context adapter and the codecs.
func BenchmarkPartitionProcess(b *testing.B) {
	handle := func(m *Message, msg any) {
		var n int64
		if data, err := m.TableGet(); err != nil {
			m.Fail(err)
		} else if data != nil {
			n, _ = strconv.ParseInt(string(data), 10, 64)
		}
		m.WriteTable(strconv.AppendInt(nil, n+1, 10), nil)
		m.Send("out", m.Key(), msg.([]byte), nil)
	}
	p := newBenchPartition(b, &Plan{
		Group:   "bench",
		Routes:  map[string]Route{"in": {Decode: func(data []byte) (any, error) { return data, nil }, Handle: handle}},
		Table:   "bench-table",
		Inputs:  []string{"in"},
		Outputs: []string{"out"},
	})
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
		if err := p.process(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// newBenchPartition starts an active partition of plan, with memory
// storage, empty topics and a producer that acknowledges every send at once.
func newBenchPartition(b *testing.B, plan *Plan) *Partition {
	b.Helper()
	cfg := &Config{
		Plan:         plan,
		Producer:     new(ackingProducer),
		Log:          benchLogger{b},
		PartitionLog: func(int32) Logger { return benchLogger{b} },
		StopTimeout:  10e9,
		CacheRows:    true,
		OnFail:       func(err error) { b.Error(err) },
	}
	cfg.Stores = stores.New(func(topic string, partition int32) *table.Partition {
		return table.New(table.Config{Topic: topic, Partition: partition, Builder: storage.MemoryBuilder(), Offsets: emptyTopics{}})
	})
	p := NewPartition(cfg, 0, RoleActive, func(string, int64) {})
	require.NoError(b, p.Start(context.Background(), context.Background()))
	b.Cleanup(func() {
		_ = p.Stop()
		_ = cfg.Stores.Close()
	})
	return p
}

// ackingProducer acknowledges every message as it is sent.
type ackingProducer struct{ offset atomic.Int64 }

func (p *ackingProducer) Send(topic, _ string, _ []byte, _ map[string][]byte, done func(*sarama.ProducerMessage, error)) {
	done(&sarama.ProducerMessage{Topic: topic, Offset: p.offset.Add(1)}, nil)
}

type benchLogger struct{ b *testing.B }

func (l benchLogger) Printf(format string, v ...any) { l.b.Logf(format, v...) }
