package storage_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

const benchRecords = 1000

// benchKeys are the keys every benchmark writes or reads, built once.
var benchKeys = func() []string {
	keys := make([]string, benchRecords)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	return keys
}()

var benchValue = make([]byte, 100)

func newBenchLevelDB(b *testing.B) storage.Storage {
	st, err := storage.DefaultBuilder(b.TempDir())("bench", 0)
	require.NoError(b, err)
	b.Cleanup(func() { _ = st.Close() })
	return st
}

// BenchmarkLevelDBSet writes 1000 records and their offsets one at a time,
// as recovery would without batches.
func BenchmarkLevelDBSet(b *testing.B) {
	st := newBenchLevelDB(b)
	for b.Loop() {
		for i, key := range benchKeys {
			if err := st.Set(key, benchValue); err != nil {
				b.Fatal(err)
			}
			if err := st.SetOffset(int64(i)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkLevelDBWriteBatch writes the same 1000 records and the final
// offset as one batch.
func BenchmarkLevelDBWriteBatch(b *testing.B) {
	st := newBenchLevelDB(b)
	var batch storage.Batch
	for b.Loop() {
		batch.Reset()
		for _, key := range benchKeys {
			batch.Set(key, benchValue)
		}
		batch.SetOffset(benchRecords - 1)
		if err := storage.WriteBatch(st, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryGet reads existing keys from a memory storage.
func BenchmarkMemoryGet(b *testing.B) {
	st := storage.NewMemory()
	defer st.Close()
	for _, key := range benchKeys {
		require.NoError(b, st.Set(key, benchValue))
	}
	i := 0
	for b.Loop() {
		if _, err := st.Get(benchKeys[i%benchRecords]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLevelDBGet reads existing keys from a LevelDB storage, the point
// read a processor makes for every message.
func BenchmarkLevelDBGet(b *testing.B) {
	st := newBenchLevelDB(b)
	for _, key := range benchKeys {
		require.NoError(b, st.Set(key, benchValue))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := st.Get(benchKeys[i%benchRecords]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLevelDBPut writes one key at a time without offsets, the write a
// processor makes for every message.
func BenchmarkLevelDBPut(b *testing.B) {
	st := newBenchLevelDB(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := st.Set(benchKeys[i%benchRecords], benchValue); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMemorySet writes existing keys to a memory storage.
func BenchmarkMemorySet(b *testing.B) {
	st := storage.NewMemory()
	defer st.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := st.Set(benchKeys[i%benchRecords], benchValue); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
