package goka

import (
	"fmt"
	"hash"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
)

func TestViewGetHasEvict(t *testing.T) {
	e := newViewEnv(t, false)
	e.createTable("users", 3)
	var pairs []tableRecord
	for i := range 30 {
		pairs = append(pairs, upsert(keyOf(i), fmt.Sprintf("value-%d", i)))
	}
	e.write("users", pairs...)

	v := e.run(e.newView("users"))
	v.recovered(t)
	assert.Equal(t, "users", v.Topic())
	for i := range 30 {
		assert.Equal(t, fmt.Sprintf("value-%d", i), viewString(t, v.View, keyOf(i)))
		has, err := v.Has(keyOf(i))
		require.NoError(t, err)
		assert.True(t, has)
	}

	t.Log("a missing key of a recovered view is nil without error, as in goka")
	value, err := v.Get("missing")
	require.NoError(t, err)
	assert.Nil(t, value)
	has, err := v.Has("missing")
	require.NoError(t, err)
	assert.False(t, has)

	t.Log("Evict forgets a key locally; the topic keeps it")
	require.NoError(t, v.Evict(keyOf(7)))
	assert.Equal(t, "", viewString(t, v.View, keyOf(7)))
	assert.Equal(t, "value-7", topicValue(t, e, "users", keyOf(7)))

	stats := v.Stats(t.Context())
	require.Len(t, stats.Partitions, 3)
	var total uint
	for p, s := range stats.Partitions {
		assert.Equal(t, PartitionRunning, s.Status, "partition %d", p)
		total += s.Input.Count
	}
	assert.Equal(t, uint(30), total, "every record was read once")

	require.NoError(t, v.stop(t))
	_, err = v.Get(keyOf(1))
	assert.ErrorIs(t, err, ErrViewNotRunning, "the stores are closed once Run returned")
	assert.NotErrorIs(t, err, ErrViewNotRecovered, "the view did recover")
	assert.Empty(t, v.Stats(t.Context()).Partitions)
}

// topicValue reads the newest record of key straight from the topic.
func topicValue(t *testing.T, e *viewEnv, topic, key string) string {
	t.Helper()
	client, err := sarama.NewClient(e.brokers, e.writer)
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close()) }()
	partitions, err := client.Partitions(topic)
	require.NoError(t, err)
	var value string
	for _, p := range partitions {
		for _, msg := range readPartition(t, e.brokers, topic, p) {
			if string(msg.Key) == key {
				value = string(msg.Value)
			}
		}
	}
	return value
}

// drainIterator drains it into "key=value" strings.
func drainIterator(t *testing.T, it Iterator) []string {
	t.Helper()
	defer it.Release()
	var got []string
	for it.Next() {
		value, err := it.Value()
		require.NoError(t, err)
		got = append(got, fmt.Sprintf("%s=%v", it.Key(), value))
	}
	require.NoError(t, it.Err())
	return got
}

func TestViewIterators(t *testing.T) {
	for name, sb := range map[string]func(t *testing.T) storage.Builder{
		"memory":  func(*testing.T) storage.Builder { return storage.MemoryBuilder() },
		"leveldb": func(t *testing.T) storage.Builder { return storage.DefaultBuilder(t.TempDir()) },
	} {
		t.Run(name, func(t *testing.T) {
			e := newViewEnv(t, false)
			e.createTable("table", 3)
			e.write("table", upsert("b/2", "4"), upsert("a/1", "1"), upsert("c", "6"), upsert("ab", "3"), upsert("a/2", "2"), upsert("b/1", "5"))

			v := e.run(e.newView("table", WithViewStorageBuilder(sb(t))))
			v.recovered(t)

			it, err := v.Iterator()
			require.NoError(t, err)
			assert.Equal(t, []string{"a/1=1", "a/2=2", "ab=3", "b/1=5", "b/2=4", "c=6"}, drainIterator(t, it),
				"every partition merged in key order")

			for _, tc := range []struct {
				start, limit string
				want         []string
			}{
				{"a/", "", []string{"a/1=1", "a/2=2"}},                  // an empty limit is a prefix
				{"a", "", []string{"a/1=1", "a/2=2", "ab=3"}},           // prefix, not "from a on"
				{"a/2", "b/2", []string{"a/2=2", "ab=3", "b/1=5"}},      // [start, limit): the limit is excluded
				{"a0", "zz", []string{"ab=3", "b/1=5", "b/2=4", "c=6"}}, // bounds need not be keys
				{"d", "", nil}, // nothing there
				{"", "", []string{"a/1=1", "a/2=2", "ab=3", "b/1=5", "b/2=4", "c=6"}}, // every key has the empty prefix
			} {
				it, err := v.IteratorWithRange(tc.start, tc.limit)
				require.NoError(t, err)
				assert.Equal(t, tc.want, drainIterator(t, it), "range %q, %q", tc.start, tc.limit)
			}

			t.Log("Seek lands on the first key at or after the given one; Next moves past it")
			it, err = v.Iterator()
			require.NoError(t, err)
			defer it.Release()
			require.True(t, it.Seek("b"))
			assert.Equal(t, "b/1", it.Key())
			value, err := it.Value()
			require.NoError(t, err)
			assert.Equal(t, "5", value)
			require.True(t, it.Next())
			assert.Equal(t, "b/2", it.Key())
			require.True(t, it.Seek("a/2"), "Seek may move backwards")
			assert.Equal(t, "a/2", it.Key())
			assert.False(t, it.Seek("zz"))
		})
	}
}

func TestViewCatchesUpNewUpdates(t *testing.T) {
	e := newViewEnv(t, false)
	e.createTable("table", 2)
	e.write("table", upsert("kept", "1"), upsert("changed", "old"), upsert("deleted", "x"))

	v := e.run(e.newView("table"))
	v.recovered(t)
	require.True(t, v.Recovered())
	assert.Equal(t, "old", viewString(t, v.View, "changed"))

	e.write("table", upsert("changed", "new"), tombstone("deleted"), upsert("added", "2"))
	eventually(t, "the view to see the new records", func() bool {
		return viewString(t, v.View, "changed") == "new" &&
			viewString(t, v.View, "deleted") == "" &&
			viewString(t, v.View, "added") == "2"
	})
	assert.Equal(t, "1", viewString(t, v.View, "kept"))
	assert.True(t, v.Recovered(), "following new records keeps the view Running")
}

func TestViewUpdateCallback(t *testing.T) {
	e := newViewEnv(t, false)
	e.createTable("table", 1)
	e.write("table", upsert("a", "hello"), upsert("b", "world"))

	// The callback decides what the view stores: here the upper case, and
	// nothing for "b".
	upper := func(ctx UpdateContext, s storage.Storage, key string, value []byte) error {
		if key == "b" {
			return nil
		}
		return s.Set(key, []byte(strings.ToUpper(string(value))))
	}
	v := e.run(e.newView("table", WithViewCallback(upper)))
	v.recovered(t)
	assert.Equal(t, "HELLO", viewString(t, v.View, "a"))
	assert.Equal(t, "", viewString(t, v.View, "b"))
}

// partitionZeroHash is a hasher that puts every key in partition 0.
type partitionZeroHash struct{ hash.Hash32 }

func (partitionZeroHash) Sum32() uint32 { return 0 }

func TestViewHasher(t *testing.T) {
	e := newViewEnv(t, false)
	e.createTable("table", 4)
	config := DefaultConfig()
	config.Producer.Partitioner = sarama.NewManualPartitioner
	config.Producer.Return.Successes = true
	producer, err := sarama.NewSyncProducer(e.brokers, config)
	require.NoError(t, err)
	for i := range 8 {
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{
			Topic: "table", Partition: 0, Key: sarama.StringEncoder(keyOf(i)), Value: sarama.StringEncoder("v"),
		})
		require.NoError(t, err)
	}
	require.NoError(t, producer.Close())

	hasher := func() hash.Hash32 { return partitionZeroHash{fnv.New32a()} }
	custom := e.run(e.newView("table", WithViewHasher(hasher)))
	standard := e.run(e.newView("table"))
	custom.recovered(t)
	standard.recovered(t)
	var misses int
	for i := range 8 {
		assert.Equal(t, "v", viewString(t, custom.View, keyOf(i)), "the custom hasher looks in partition 0")
		if viewString(t, standard.View, keyOf(i)) == "" {
			misses++
		}
	}
	assert.Positive(t, misses, "FNV-1a sends some of these keys elsewhere")
}

func TestNewViewErrors(t *testing.T) {
	e := newViewEnv(t, false)
	_, err := NewView(e.brokers, "no-such-table", nil, e.options()...)
	assert.ErrorContains(t, err, "codec")

	_, err = NewView(e.brokers, "no-such-table", new(codec.String), e.options()...)
	require.Error(t, err)
	assert.ErrorContains(t, err, "no-such-table")

	_, err = NewView(e.brokers, "table", new(codec.String), append(e.options(), WithViewStorageBuilder(nil))...)
	assert.ErrorContains(t, err, "storage builder")
}

func TestViewRunsOnce(t *testing.T) {
	e := newViewEnv(t, false)
	e.createTable("table", 1)
	v := e.run(e.newView("table"))
	v.recovered(t)

	err := v.Run(t.Context())
	assert.ErrorIs(t, err, ErrViewAlreadyRun, "while running")
	require.NoError(t, v.stop(t))
	err = v.Run(t.Context())
	assert.ErrorIs(t, err, ErrViewAlreadyRun, "after running")
	assert.Equal(t, ViewStateIdle, v.CurrentState())
}

// TestViewStorage checks that a view restarted on a persistent store
// continues from its stored offset instead of re-reading the table.
func TestViewStorage(t *testing.T) {
	e := newViewEnv(t, false)
	e.createTable("table", 1)
	e.write("table", upsert("a", "1"), upsert("b", "2"))
	dir := t.TempDir()

	first := e.run(e.newView("table", WithViewStorageBuilder(storage.DefaultBuilder(dir))))
	first.recovered(t)
	require.NoError(t, first.stop(t))

	e.write("table", upsert("c", "3"))
	second := e.run(e.newView("table", WithViewStorageBuilder(storage.DefaultBuilder(dir))))
	second.recovered(t)
	assert.Equal(t, "1", viewString(t, second.View, "a"))
	assert.Equal(t, "3", viewString(t, second.View, "c"))
	stats := second.Stats(t.Context())
	assert.Equal(t, uint(1), stats.Partitions[0].Input.Count, "only the new record is read")
	assert.WithinDuration(t, time.Now(), stats.Partitions[0].Recovery.RecoveryTime, kafkaWait)
}
