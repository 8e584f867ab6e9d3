package table

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// fillLog writes n records over keys k0..k(n/3), with a tombstone every
// seventh record, and returns the table they describe.
func fillLog(log *fakeLog, n int) map[string]string {
	want := make(map[string]string)
	for i := range n {
		key := "k" + strconv.Itoa(i%(n/3+1))
		if i%7 == 6 {
			log.add(key, nil)
			delete(want, key)
			continue
		}
		value := "v" + strconv.Itoa(i)
		log.addString(key, value)
		want[key] = value
	}
	return want
}

func TestRecoverFromEmptyStore(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	want := fillLog(log, 100)
	st := storage.NewMemory()
	p := newPartition(t, log, st)

	require.NoError(t, p.Recover(context.Background()))

	assert.Equal(t, want, contents(t, st))
	assert.Equal(t, int64(99), storedOffset(t, st))
	assert.Equal(t, Running, p.Signal().State())
	assert.Equal(t, []int64{0}, log.startOffsets())
	assert.Equal(t, int64(100), log.delivered.Load())
	// Stopped before Recover returned; its close, which waits for sarama's
	// fetch in flight, ends in the background.
	require.Eventually(t, func() bool { return log.openConsumers() == 0 }, waitTimeout, time.Millisecond,
		"recover must leave no consumer running")

	stats := p.Stats()
	assert.Equal(t, Running, stats.Status)
	assert.Equal(t, int64(100), stats.Input.Count)
	assert.Equal(t, int64(99), stats.Input.LastOffset)
	assert.Equal(t, int64(0), stats.Input.OffsetLag)
	assert.Equal(t, int64(99), stats.Recovery.Offset)
	assert.Equal(t, int64(100), stats.Recovery.Hwm)
	assert.False(t, stats.Recovery.RecoveryTime.IsZero())
	assert.False(t, stats.Stalled)
}

func TestRecoverReadsOnlyTheDelta(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	fillLog(log, 50)
	st := storage.NewMemory()
	t.Cleanup(func() { _ = st.Close() })
	first := newPartition(t, log, keepOpen{st})
	require.NoError(t, first.Recover(context.Background()))
	require.NoError(t, first.Close())
	require.Equal(t, int64(50), log.delivered.Load())

	log.addString("k1", "new")
	log.add("k2", nil)
	log.addString("fresh", "x")

	second := newPartition(t, log, keepOpen{st})
	require.NoError(t, second.Recover(context.Background()))

	assert.Equal(t, int64(53), log.delivered.Load(), "only the three new records are read")
	assert.Equal(t, []int64{0, 50}, log.startOffsets())
	assert.Equal(t, int64(3), second.Stats().Input.Count)
	got := contents(t, st)
	assert.Equal(t, "new", got["k1"])
	assert.NotContains(t, got, "k2")
	assert.Equal(t, "x", got["fresh"])
	assert.Equal(t, int64(52), storedOffset(t, st))
}

func TestRecoverClampsToOldest(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	for i := range 10 {
		log.addString("k"+strconv.Itoa(i), "v")
	}
	log.removeBefore(6)
	st := storage.NewMemory()
	require.NoError(t, st.SetOffset(2))
	var lines logLines
	p := newPartition(t, log, st, func(c *Config) { c.Logf = lines.logf })

	require.NoError(t, p.Recover(context.Background()))

	assert.Equal(t, []int64{6}, log.startOffsets())
	assert.Equal(t, map[string]string{"k6": "v", "k7": "v", "k8": "v", "k9": "v"}, contents(t, st))
	assert.Equal(t, int64(9), storedOffset(t, st))
	require.Len(t, lines.all(), 1)
	assert.Contains(t, lines.all()[0], "offsets 3 to 5 are no longer in the topic")
}

func TestRecoverAtHwmConsumesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stored int64 // noOffset: nothing stored
		fill   int
	}{
		{name: "empty topic, empty store", stored: noOffset},
		{name: "store at the end", stored: 4, fill: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := newFakeLog(testTopic, testPartition)
			for i := range tc.fill {
				log.addString("k"+strconv.Itoa(i), "v")
			}
			st := storage.NewMemory()
			if tc.stored != noOffset {
				require.NoError(t, st.SetOffset(tc.stored))
			}
			p := newPartition(t, log, st)
			obs := p.Signal().ObserveStateChange()
			defer obs.Stop()

			require.NoError(t, p.Recover(context.Background()))

			assert.Empty(t, log.startOffsets(), "no consumer started")
			assert.Equal(t, Running, p.Signal().State())
			assert.Equal(t, tc.stored, storedOffset(t, st))
			assert.False(t, p.Stats().Recovery.RecoveryTime.IsZero())
		})
	}
}

func TestRecoverAppliesTombstones(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	log.addString("b", "2")
	log.add("a", nil)
	log.add("missing", nil)
	log.add("c", []byte{}) // an empty value is a value, not a tombstone
	st := storage.NewMemory()
	p := newPartition(t, log, st)

	require.NoError(t, p.Recover(context.Background()))

	assert.Equal(t, map[string]string{"b": "2", "c": ""}, contents(t, st))
	ok, err := st.Has("c")
	require.NoError(t, err)
	assert.True(t, ok)
}

// counter is an Update that counts records per key by reading what it
// wrote before, possibly in the same batch, and deletes on a "reset" value.
func counter(st storage.Storage, rec *Record) error {
	if string(rec.Value) == "reset" {
		if err := st.Delete(rec.Key); err != nil {
			return err
		}
		if ok, err := st.Has(rec.Key); err != nil || ok {
			return fmt.Errorf("deleted key still there: %v %w", ok, err)
		}
		return nil
	}
	old, err := st.Get(rec.Key)
	if err != nil {
		return err
	}
	n := 0
	if old != nil {
		if n, err = strconv.Atoi(string(old)); err != nil {
			return err
		}
	}
	return st.Set(rec.Key, []byte(strconv.Itoa(n+1)))
}

func TestCustomUpdateReadsItsOwnWrites(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.buffer = 1000 // every record is ready at once: one batch
	for i := range 300 {
		log.addString("k"+strconv.Itoa(i%3), "inc")
		if i == 150 {
			log.addString("k0", "reset")
		}
	}
	st := storage.NewMemory()
	require.NoError(t, st.Set("k2", []byte("1000"))) // read from the store, not the batch
	rec := &batchRecorder{Storage: st}
	p := newPartition(t, log, rec, func(c *Config) { c.Update = counter })

	require.NoError(t, p.Recover(context.Background()))

	sizes, _ := rec.batches()
	assert.Equal(t, []int{301}, sizes, "all records in one batch")
	// k0 counted 51 times before the reset at record 151 (i=0,3,...,150),
	// then 49 more times.
	assert.Equal(t, map[string]string{"k0": "49", "k1": "100", "k2": "1100"}, contents(t, st))
}

func TestUpdateIteratorSeesBufferedWrites(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.buffer = 10
	log.addString("a", "1")
	log.addString("b", "2")
	log.addString("count", "")
	st := storage.NewMemory()
	var seen []string
	update := func(s storage.Storage, rec *Record) error {
		if rec.Key != "count" {
			return s.Set(rec.Key, rec.Value)
		}
		it, err := s.Iterator()
		if err != nil {
			return err
		}
		defer it.Release()
		for it.Next() {
			seen = append(seen, string(it.Key()))
		}
		return nil
	}
	p := newPartition(t, log, st, func(c *Config) { c.Update = update })

	require.NoError(t, p.Recover(context.Background()))

	assert.Equal(t, []string{"a", "b"}, seen)
	assert.Equal(t, int64(2), storedOffset(t, st))
}

func TestRecordCarriesTheMessage(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	st := storage.NewMemory()
	var got Record
	p := newPartition(t, log, st, func(c *Config) {
		c.Update = func(s storage.Storage, rec *Record) error {
			got = *rec
			got.Value = append([]byte(nil), rec.Value...)
			return nil
		}
	})

	require.NoError(t, p.Recover(context.Background()))

	assert.Equal(t, Record{Topic: testTopic, Partition: testPartition, Offset: 0, Key: "a", Value: []byte("1"),
		Timestamp: time.Unix(1700000000, 0)}, got)
	assert.Equal(t, int64(0), storedOffset(t, st), "the offset advances even when the update writes nothing")
}

func TestBatchesAreBounded(t *testing.T) {
	t.Run("records", func(t *testing.T) {
		log := newFakeLog(testTopic, testPartition)
		log.buffer = 200
		for i := range 95 {
			log.addString("k"+strconv.Itoa(i), "v")
		}
		st := storage.NewMemory()
		rec := &batchRecorder{Storage: st}
		p := newPartition(t, log, rec, func(c *Config) { c.MaxBatchRecords = 10 })

		require.NoError(t, p.Recover(context.Background()))

		sizes, offsets := rec.batches()
		assert.Equal(t, []int{10, 10, 10, 10, 10, 10, 10, 10, 10, 5}, sizes)
		assert.Equal(t, []int64{9, 19, 29, 39, 49, 59, 69, 79, 89, 94}, offsets)
		assert.Len(t, contents(t, st), 95)
	})
	t.Run("bytes", func(t *testing.T) {
		log := newFakeLog(testTopic, testPartition)
		log.buffer = 200
		value := make([]byte, 100)
		for i := range 50 {
			log.add("k"+strconv.Itoa(i), value)
		}
		st := storage.NewMemory()
		rec := &batchRecorder{Storage: st}
		p := newPartition(t, log, rec, func(c *Config) { c.MaxBatchBytes = 350 })

		require.NoError(t, p.Recover(context.Background()))

		sizes, _ := rec.batches()
		total := 0
		for _, n := range sizes {
			assert.LessOrEqual(t, n, 4, "a batch stops at the first record reaching 350 bytes")
			total += n
		}
		assert.Equal(t, 50, total)
	})
}

func TestRecoverEndsWithoutTrailingOffsets(t *testing.T) {
	t.Run("idle at the topic's end", func(t *testing.T) {
		log := newFakeLog(testTopic, testPartition)
		for i := range 10 {
			log.addString("k"+strconv.Itoa(i), "v")
		}
		log.skip(1) // a commit marker
		st := storage.NewMemory()
		var lines logLines
		p := newPartition(t, log, st, func(c *Config) {
			c.IdleTimeout = 20 * time.Millisecond
			c.Logf = lines.logf
			c.GapCheck = log.gapCheck
		})

		require.NoError(t, p.Recover(context.Background()))

		assert.Equal(t, Running, p.Signal().State())
		assert.Equal(t, int64(9), storedOffset(t, st))
		require.Len(t, lines.all(), 1)
		assert.Contains(t, lines.all()[0], "transaction markers")
	})
	t.Run("a record beyond the mark", func(t *testing.T) {
		log := newFakeLog(testTopic, testPartition)
		log.addString("a", "1")
		log.skip(1)
		st := storage.NewMemory()
		p := newPartition(t, log, st, func(c *Config) { c.IdleTimeout = time.Hour })

		done := runAsync(func() error { return p.Recover(context.Background()) })
		waitState(t, p, Recovering)
		log.addString("b", "2") // offset 2, beyond the snapshot of 2
		require.NoError(t, result(t, done))

		assert.Equal(t, map[string]string{"a": "1", "b": "2"}, contents(t, st))
		assert.Equal(t, int64(2), storedOffset(t, st))
	})
}

// staleOffsets reports a high-water mark from before the last records were
// written, as a snapshot taken just before them does.
type staleOffsets struct {
	*fakeLog
	hwm int64
}

func (s staleOffsets) GetOffset(topic string, partition int32, at int64) (int64, error) {
	if at == sarama.OffsetNewest {
		return s.hwm, nil
	}
	return s.fakeLog.GetOffset(topic, partition, at)
}

func TestRecoverStopsAtTheSnapshot(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	for i := range 6 {
		log.addString("k"+strconv.Itoa(i), "v")
	}
	st := storage.NewMemory()
	p := newPartition(t, log, st, func(c *Config) { c.Offsets = staleOffsets{fakeLog: log, hwm: 3} })

	require.NoError(t, p.Recover(context.Background()))

	assert.Equal(t, int64(2), storedOffset(t, st), "records after the snapshot are left to Follow")
	assert.Equal(t, map[string]string{"k0": "v", "k1": "v", "k2": "v"}, contents(t, st))
}

func TestCloseDuringRecoverReturnsPromptly(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	log.skip(100) // never comes
	st := storage.NewMemory()
	p := New(Config{Topic: testTopic, Partition: testPartition, Builder: builderOf(st), Consumer: log, Offsets: log, IdleTimeout: time.Hour})

	done := runAsync(func() error { return p.Recover(context.Background()) })
	waitState(t, p, Recovering)
	require.NoError(t, p.Close())
	err := result(t, done)

	require.ErrorIs(t, err, ErrClosed)
	assert.Equal(t, Stopped, p.Signal().State())
	assert.Zero(t, log.openConsumers())
	_, err = st.Get("a")
	assert.ErrorIs(t, err, storage.ErrClosed, "close closes the store")
	require.NoError(t, p.Close(), "close is idempotent")
	assert.ErrorIs(t, p.Recover(context.Background()), ErrClosed)
	assert.ErrorIs(t, p.Open(context.Background()), ErrClosed)
}

func TestCancelDuringRecover(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	log.skip(100)
	p := newPartition(t, log, storage.NewMemory(), func(c *Config) { c.IdleTimeout = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())

	done := runAsync(func() error { return p.Recover(ctx) })
	waitState(t, p, Recovering)
	cancel()
	err := result(t, done)

	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, Retriable(err))
	assert.Equal(t, Connecting, p.Signal().State())
	assert.Zero(t, log.openConsumers())
}

func TestOpenIsIdempotentAndRequiresABuilder(t *testing.T) {
	builds := 0
	st := storage.NewMemory()
	p := New(Config{Topic: testTopic, Partition: testPartition, Builder: func(string, int32) (storage.Storage, error) {
		builds++
		return st, nil
	}})
	require.NoError(t, p.Open(context.Background()))
	require.NoError(t, p.Open(context.Background()))
	assert.Equal(t, 1, builds)
	assert.Same(t, st, p.Storage())
	assert.Equal(t, Initializing, p.Signal().State())
	require.ErrorIs(t, p.Recover(context.Background()), ErrConfig, "no consumer")
	require.NoError(t, p.Close())

	empty := New(Config{Topic: testTopic})
	require.ErrorIs(t, empty.Open(context.Background()), ErrConfig)
	assert.Nil(t, empty.Storage())
	require.NoError(t, empty.Close())

	failing := New(Config{Topic: testTopic, Builder: func(string, int32) (storage.Storage, error) {
		return nil, errors.New("disk gone")
	}})
	err := failing.Open(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `table: topic "tbl" partition 0: build storage: disk gone`)
	assert.Equal(t, Stopped, failing.Signal().State())
	require.NoError(t, failing.Close())
}

func TestStatesOfARecovery(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	p := newPartition(t, log, storage.NewMemory())
	obs := p.Signal().ObserveStateChange()
	var states []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range obs.C() {
			states = append(states, int(s))
		}
	}()

	require.NoError(t, p.Recover(context.Background()))
	require.NoError(t, p.Close())
	obs.Stop()
	<-done

	// The observer keeps only the newest state when it falls behind, so
	// check the order of what it saw, and its end.
	require.NotEmpty(t, states)
	assert.IsNonDecreasing(t, states[:len(states)-1])
	assert.Equal(t, int(Stopped), states[len(states)-1])
}
