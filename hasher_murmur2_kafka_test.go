package goka

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// produceWithKgo writes one record per key and value to topic with a
// franz-go client and the given options (its default partitioner unless
// they set one), and returns the partition the client chose for each key.
func (e *procEnv) produceWithKgo(topic string, keys, values []string, opts ...kgo.Opt) map[string]int32 {
	e.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.brokers...), kgo.DefaultProduceTopic(topic)}, opts...)...)
	require.NoError(e.t, err)
	defer cl.Close()
	records := make([]*kgo.Record, len(keys))
	for i := range keys {
		records[i] = &kgo.Record{Key: []byte(keys[i]), Value: []byte(values[i])}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The results come in the order the records were acknowledged, not
	// sent: take each record's key from the result.
	results := cl.ProduceSync(ctx, records...)
	require.NoError(e.t, results.FirstErr())
	chosen := make(map[string]int32, len(keys))
	for _, r := range results {
		key := string(r.Record.Key)
		if p, ok := chosen[key]; ok {
			require.Equal(e.t, p, r.Record.Partition, "franz-go places key %q in one partition", key)
		}
		chosen[key] = r.Record.Partition
	}
	return chosen
}

// TestMurmur2HasherMatchesKgo has franz-go, whose partitioners hash keys
// as Kafka's Java client does, write keyed records with its default and its
// sticky-key partitioner: Murmur2Hasher places every key in the partition
// franz-go chose, the keys with a negative murmur2 included.
func TestMurmur2HasherMatchesKgo(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions = 7
	env.createTopic("kgo-keys", partitions)
	keys := make([]string, 400)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i)
	}
	negatives := 0
	for _, key := range keys {
		if int32(murmur2Sum([]byte(key))) < 0 {
			negatives++
		}
	}
	require.Greater(t, negatives, 50, "keys with a negative murmur2 are covered")

	for name, opts := range map[string][]kgo.Opt{
		"default":    nil,
		"sticky-key": {kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil))},
	} {
		chosen := env.produceWithKgo("kgo-keys", keys, keys, opts...)
		fnvAgrees := 0
		require.Len(t, chosen, len(keys))
		for _, key := range keys {
			got, err := hashPartition(Murmur2Hasher(), key, partitions)
			require.NoError(t, err)
			require.Equal(t, chosen[key], got, "%s partitioner, key %q (murmur2 %d)", name, key, int32(murmur2Sum([]byte(key))))
			if fnv, _ := hashPartition(DefaultHasher(), key, partitions); fnv == chosen[key] {
				fnvAgrees++
			}
		}
		assert.Less(t, fnvAgrees, len(keys)/2, "FNV-1a would place most of these keys elsewhere")
	}
}

// TestMurmur2ProcessorCountsKgoInput runs a counting processor on input
// written by franz-go's default partitioner and by an emitter with
// WithEmitterHasher(Murmur2Hasher()): with WithHasher(Murmur2Hasher()) it
// counts every key exactly and runs on, and a view with the same hasher reads
// the counts; with the default hasher the processor stops with
// ErrForeignPartitioner.
func TestMurmur2ProcessorCountsKgoInput(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys, perKey = 4, 30, 3
	env.createTopic("kgo-clicks", partitions)
	var ks, vs []string
	for i := 0; i < perKey; i++ {
		for k := 0; k < keys; k++ {
			ks = append(ks, keyOf(k))
			vs = append(vs, "click")
		}
	}
	env.produceWithKgo("kgo-clicks", ks, vs)

	// An emitter with the same hasher adds one more message to every key:
	// it must land in the partition franz-go chose for the key.
	em, err := NewEmitter(env.brokers, "kgo-clicks", new(codec.String),
		WithEmitterProducerBuilder(ProducerBuilderWithConfig(env.config)), WithEmitterHasher(Murmur2Hasher()))
	require.NoError(t, err)
	for k := 0; k < keys; k++ {
		_, err := em.Emit(keyOf(k), "click")
		require.NoError(t, err)
	}
	require.NoError(t, em.Finish())

	murmur := DefineGroup("kgo-murmur2", Input("kgo-clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	proc := env.processor(murmur, storage.MemoryBuilder(), WithHasher(Murmur2Hasher()))
	r := env.start(proc)
	want := uniformCounts(keys, perKey+1)
	eventually(t, "every key counted", func() bool { return hasCounts(proc, want) })
	for p := int32(0); p < partitions; p++ {
		want := env.newestOffset("kgo-clicks", p)
		eventually(t, "the input committed", func() bool { return env.committed("kgo-murmur2", "kgo-clicks", p) == want })
	}
	require.NoError(t, r.stop(t))

	// A view of the table with the same hasher finds every count.
	v, err := NewView(env.brokers, "kgo-murmur2-table", new(codec.Int64),
		env.viewOptions(storage.MemoryBuilder(), WithViewHasher(Murmur2Hasher()))...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	viewDone := make(chan error, 1)
	go func() { viewDone <- v.Run(ctx) }()
	require.NoError(t, v.WaitRecovered(ctx))
	for key, n := range want {
		got, err := v.Get(key)
		require.NoError(t, err)
		assert.Equal(t, n, got, "view, key %s", key)
	}
	cancel()
	require.NoError(t, <-viewDone)

	fnv := DefineGroup("kgo-fnv", Input("kgo-clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	failed := env.start(env.processor(fnv, storage.MemoryBuilder()))
	require.ErrorIs(t, failed.wait(t), ErrForeignPartitioner)
}
