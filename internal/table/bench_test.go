package table

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/syndtr/goleveldb/leveldb"

	"github.com/seed-b2c684ed/goka/storage"
)

const (
	benchRecords   = 100_000
	benchValueSize = 100
)

// benchLog is the table both benchmarks write: distinct keys, 100-byte
// values.
func benchLog(buffer int) *fakeLog {
	log := newFakeLog(testTopic, testPartition)
	log.buffer = buffer
	value := make([]byte, benchValueSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	for i := range benchRecords {
		log.add(fmt.Sprintf("key-%08d", i), value)
	}
	return log
}

// BenchmarkRecover restores 100k records into a fresh LevelDB store.
// "prefilled" has every record ready in the consumer's channel, which
// measures the partition's own cost; "streamed" feeds them through a
// 256-message channel from another goroutine, like sarama's default
// consumer.
func BenchmarkRecover(b *testing.B) {
	for _, bc := range []struct {
		name   string
		buffer int
	}{{"prefilled", benchRecords}, {"streamed", 256}} {
		b.Run(bc.name, func(b *testing.B) {
			log := benchLog(bc.buffer)
			ctx := context.Background()
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				var consumer Consumer = log
				if bc.buffer >= benchRecords {
					pc, err := log.ConsumePartition(testTopic, testPartition, 0)
					if err != nil {
						b.Fatal(err)
					}
					consumer = readyConsumer{pc}
				}
				p := New(Config{
					Topic: testTopic, Partition: testPartition,
					Builder:  storage.DefaultBuilder(b.TempDir()),
					Consumer: consumer, Offsets: log,
				})
				if err := p.Open(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := p.Recover(ctx); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(benchRecords*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// readyConsumer hands out a partition consumer made beforehand, so that
// filling its channel is not timed.
type readyConsumer struct{ pc sarama.PartitionConsumer }

func (c readyConsumer) ConsumePartition(string, int32, int64) (sarama.PartitionConsumer, error) {
	return c.pc, nil
}

// BenchmarkRawLevelDBBatches is the baseline of BenchmarkRecover: the same
// records written straight into goleveldb batches of DefaultMaxBatchRecords
// with the offset in each batch, no consumer, no storage layer.
func BenchmarkRawLevelDBBatches(b *testing.B) {
	log := benchLog(0)
	records := log.records
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		db, err := leveldb.OpenFile(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		writeRaw(b, db, records)
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(benchRecords*b.N)/b.Elapsed().Seconds(), "records/s")
}

func writeRaw(b *testing.B, db *leveldb.DB, records []*sarama.ConsumerMessage) {
	var batch leveldb.Batch
	for start := 0; start < len(records); start += DefaultMaxBatchRecords {
		end := min(start+DefaultMaxBatchRecords, len(records))
		batch.Reset()
		for _, r := range records[start:end] {
			batch.Put(r.Key, r.Value)
		}
		batch.Put([]byte("__offset"), strconv.AppendInt(nil, records[end-1].Offset, 10))
		if err := db.Write(&batch, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWipeLevelDB empties a dirty LevelDB store, as the first start
// after a crash does, at two sizes: the time per key must not grow with the
// store (it did, quadratically, when each batch of deletes re-walked the
// tombstones of the ones before).
func BenchmarkWipeLevelDB(b *testing.B) {
	for _, keys := range []int{250_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) { benchmarkWipe(b, keys) })
	}
}

func benchmarkWipe(b *testing.B, keys int) {
	for range b.N {
		b.StopTimer()
		db, err := leveldb.OpenFile(b.TempDir(), nil)
		require.NoError(b, err)
		st, err := storage.New(db)
		require.NoError(b, err)
		var batch storage.Batch
		for i := range keys {
			batch.Set(fmt.Sprintf("key-%07d", i), []byte("value"))
			if batch.Len() == 4096 || i == keys-1 {
				require.NoError(b, storage.WriteBatch(st, &batch))
				batch.Reset()
			}
		}
		require.NoError(b, st.SetOffset(DirtyOffset))
		p := newPartition(b, newFakeLog(testTopic, testPartition), keepOpen{Storage: st})
		b.StartTimer()
		require.NoError(b, p.wipe(context.Background(), st))
		b.StopTimer()
		require.NoError(b, p.Close())
		require.NoError(b, st.Close())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(keys*b.N), "ns/key")
}
