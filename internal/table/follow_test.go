package table

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// waitValue waits until key has value in st.
func waitValue(t *testing.T, st storage.Storage, key, value string) {
	t.Helper()
	require.Eventually(t, func() bool {
		v, err := st.Get(key)
		return err == nil && string(v) == value
	}, waitTimeout, time.Millisecond, "%s never became %q", key, value)
}

func TestFollowAfterRecover(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	fillLog(log, 30)
	st := storage.NewMemory()
	p := newPartition(t, log, st)
	require.NoError(t, p.Recover(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())

	done := runAsync(func() error { return p.Follow(ctx) })
	waitState(t, p, Running)
	require.Eventually(t, func() bool { return log.openConsumers() == 1 }, waitTimeout, time.Millisecond)
	log.addString("new", "1")
	waitValue(t, st, "new", "1")
	log.add("new", nil)
	require.Eventually(t, func() bool { ok, err := st.Has("new"); return err == nil && !ok }, waitTimeout, time.Millisecond)
	log.addString("new", "2")
	waitValue(t, st, "new", "2")
	cancel()

	require.NoError(t, result(t, done), "a stopped follower reports no error")
	assert.Equal(t, []int64{0, 30}, log.startOffsets(), "follow continues after the recovered offset")
	assert.Equal(t, int64(32), storedOffset(t, st))
	assert.Zero(t, log.openConsumers())
	assert.Equal(t, int64(33), p.Stats().Input.Count)
}

// TestFollowWritesEachRecordAtOnce checks that a follower does not wait for
// a batch to fill: every record that arrives alone is written alone.
func TestFollowWritesEachRecordAtOnce(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	st := storage.NewMemory()
	rec := &batchRecorder{Storage: st}
	p := newPartition(t, log, rec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	done := runAsync(func() error { return p.Follow(ctx) })
	waitState(t, p, Running)
	for i := range 5 {
		log.addString("k", strconv.Itoa(i))
		waitValue(t, st, "k", strconv.Itoa(i))
	}
	cancel()
	require.NoError(t, result(t, done))

	sizes, offsets := rec.batches()
	assert.Equal(t, []int{1, 1, 1, 1, 1}, sizes)
	assert.Equal(t, []int64{0, 1, 2, 3, 4}, offsets)
}

func TestCloseDuringFollow(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	st := storage.NewMemory()
	p := New(Config{Topic: testTopic, Partition: testPartition, Builder: builderOf(st), Consumer: log, Offsets: log})

	done := runAsync(func() error { return p.Follow(context.Background()) })
	waitState(t, p, Running)
	require.NoError(t, p.Close())

	require.NoError(t, result(t, done))
	assert.Equal(t, Stopped, p.Signal().State())
	assert.Zero(t, log.openConsumers())
}

func TestOnlyOneApplierAtATime(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	p := newPartition(t, log, storage.NewMemory())
	ctx, cancel := context.WithCancel(context.Background())

	done := runAsync(func() error { return p.Follow(ctx) })
	waitState(t, p, Running)
	assert.ErrorIs(t, p.Recover(context.Background()), ErrBusy)
	assert.ErrorIs(t, p.Follow(context.Background()), ErrBusy)
	cancel()
	require.NoError(t, result(t, done))

	require.NoError(t, p.Recover(context.Background()), "free again")
}

func TestFollowConsumerError(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	st := storage.NewMemory()
	p := newPartition(t, log, st)

	done := runAsync(func() error { return p.Follow(context.Background()) })
	waitValue(t, st, "a", "1")
	log.fail(sarama.ErrOutOfBrokers)
	err := result(t, done)

	require.ErrorIs(t, err, sarama.ErrOutOfBrokers)
	var cerr *sarama.ConsumerError
	assert.ErrorAs(t, err, &cerr, "sarama's error stays reachable")
	assert.True(t, Retriable(err))
	assert.Equal(t, Connecting, p.Signal().State())
}

func TestStats(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1700000100, 0)}
	log := newFakeLog(testTopic, testPartition)
	for i := range 5 {
		log.addString("k"+strconv.Itoa(i), "value") // 5 bytes each
	}
	log.skip(5) // the consumer sees offsets up to 9 it never gets
	p := newPartition(t, log, storage.NewMemory(), func(c *Config) { c.Now = clock.Now })
	ctx, cancel := context.WithCancel(context.Background())

	done := runAsync(func() error { return p.Follow(ctx) })
	require.Eventually(t, func() bool { return p.Stats().Input.Count == 5 }, waitTimeout, time.Millisecond)
	s := p.Stats()
	assert.Equal(t, Running, s.Status)
	assert.Equal(t, int64(25), s.Input.Bytes)
	assert.Equal(t, int64(4), s.Input.LastOffset)
	assert.Equal(t, int64(5), s.Input.OffsetLag, "hwm 10 - 1 - 4")
	assert.Equal(t, 96*time.Second, s.Input.Delay, "now minus the timestamp of offset 4")
	assert.False(t, s.Stalled)

	clock.Advance(stallTimeout + time.Second)
	assert.True(t, p.Stats().Stalled, "behind and silent for more than two minutes")

	log.addString("k9", "v") // lands at offset 10; lag is 0 after it
	require.Eventually(t, func() bool { return p.Stats().Input.LastOffset == 10 }, waitTimeout, time.Millisecond)
	assert.False(t, p.Stats().Stalled)
	assert.Zero(t, p.Stats().Input.OffsetLag)

	p.TrackWrite(7)
	p.TrackWrite(3)
	assert.Equal(t, WriteStats{Count: 2, Bytes: 10}, p.Stats().Writes)
	cancel()
	require.NoError(t, result(t, done))
	clock.Advance(time.Hour)
	assert.False(t, p.Stats().Stalled, "a stopped partition does not stall")
}

func TestReadsDuringRecovery(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	for i := range 2000 {
		log.addString("k"+strconv.Itoa(i%50), strconv.Itoa(i))
	}
	st := storage.NewMemory()
	p := newPartition(t, log, st, func(c *Config) { c.MaxBatchRecords = 7 })
	require.NoError(t, p.Open(context.Background()))
	stop := make(chan struct{})
	var reads atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := p.Storage().Get("k7")
				if err != nil {
					t.Error(err)
					return
				}
				_ = p.Stats()
				reads.Add(1)
			}
		}()
	}

	err := p.Recover(context.Background())
	close(stop)
	wg.Wait()

	require.NoError(t, err)
	assert.Positive(t, reads.Load())
	waitValue(t, st, "k49", "1999")
}

func TestRetry(t *testing.T) {
	kafkaErr := &KafkaError{Topic: testTopic, Partition: 1, Offset: -1, Op: "consume", Err: sarama.ErrOutOfBrokers}

	t.Run("until success", func(t *testing.T) {
		calls, backoffs := 0, 0
		var logged []error
		err := Retry(context.Background(), func(context.Context) error {
			calls++
			if calls < 3 {
				return kafkaErr
			}
			return nil
		}, func() time.Duration { backoffs++; return time.Millisecond }, nil, func(err error) { logged = append(logged, err) })
		require.NoError(t, err)
		assert.Equal(t, 3, calls)
		assert.Equal(t, 2, backoffs)
		assert.Equal(t, []error{kafkaErr, kafkaErr}, logged)
	})
	t.Run("permanent errors are returned at once", func(t *testing.T) {
		for _, perm := range []error{ErrStoreAhead, &UpdateError{Err: errors.New("x")}, errors.New("disk"), context.Canceled} {
			calls := 0
			err := Retry(context.Background(), func(context.Context) error { calls++; return perm }, func() time.Duration {
				t.Error("no backoff for a permanent error")
				return 0
			}, nil, nil)
			assert.Equal(t, perm, err)
			assert.Equal(t, 1, calls)
		}
	})
	t.Run("cancel during the wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		waiting := make(chan struct{})
		done := runAsync(func() error {
			return Retry(ctx, func(context.Context) error { return kafkaErr }, func() time.Duration {
				close(waiting)
				return time.Hour
			}, nil, nil)
		})
		<-waiting
		cancel()
		assert.ErrorIs(t, result(t, done), context.Canceled)
	})
	t.Run("reset after a long healthy attempt", func(t *testing.T) {
		for _, tc := range []struct {
			resetAfter time.Duration
			resets     int
		}{{resetAfter: time.Hour, resets: 0}, {resetAfter: 0, resets: 2}} {
			old := retryResetAfter
			retryResetAfter = tc.resetAfter
			var order []string
			calls := 0
			err := Retry(context.Background(), func(context.Context) error {
				calls++
				if calls < 3 {
					return kafkaErr
				}
				return nil
			}, func() time.Duration { order = append(order, "backoff"); return 0 }, func() { order = append(order, "reset") }, nil)
			retryResetAfter = old
			require.NoError(t, err)
			if tc.resets == 0 {
				assert.Equal(t, []string{"backoff", "backoff"}, order)
			} else {
				assert.Equal(t, []string{"reset", "backoff", "reset", "backoff"}, order, "reset comes before the wait it shortens")
			}
		}
	})
}

// TestRetryKeepsThePartitionReadable follows a partition through Retry
// across a consumer error: while Retry waits, the partition is Connecting
// and its store serves reads; afterwards it follows again.
func TestRetryKeepsThePartitionReadable(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	st := storage.NewMemory()
	p := newPartition(t, log, st)
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan struct{})
	proceed := make(chan struct{})
	var errs []error

	done := runAsync(func() error {
		return Retry(ctx, p.Follow, func() time.Duration {
			close(waiting)
			<-proceed
			return 0
		}, nil, func(err error) { errs = append(errs, err) })
	})
	waitValue(t, st, "a", "1")
	log.fail(sarama.ErrNotLeaderForPartition)
	<-waiting
	assert.Equal(t, Connecting, p.Signal().State())
	v, err := p.Storage().Get("a")
	require.NoError(t, err)
	assert.Equal(t, "1", string(v))
	close(proceed)

	waitState(t, p, Running)
	log.addString("b", "2")
	waitValue(t, st, "b", "2")
	cancel()
	require.NoError(t, result(t, done))
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], sarama.ErrNotLeaderForPartition)
	assert.Equal(t, []int64{0, 1}, log.startOffsets())
}

// gatedOffsets holds GetOffset calls while its gate is set, so a test can
// look at a partition in the middle of starting.
type gatedOffsets struct {
	Offsets
	mu      sync.Mutex
	gate    chan struct{} // nil: pass
	waiting chan struct{} // receives when a call is held
}

func (g *gatedOffsets) GetOffset(topic string, partition int32, at int64) (int64, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		g.waiting <- struct{}{}
		<-gate
	}
	return g.Offsets.GetOffset(topic, partition, at)
}

// TestFollowStaysRunningAfterRecover checks that a follow started right after
// a recovery does not show the partition as Connecting while it starts.
func TestFollowStaysRunningAfterRecover(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	fillLog(log, 3)
	offsets := &gatedOffsets{Offsets: log, waiting: make(chan struct{}, 2)}
	p := newPartition(t, log, storage.NewMemory(), func(c *Config) { c.Offsets = offsets })
	require.NoError(t, p.Recover(context.Background()))

	gate := make(chan struct{})
	offsets.mu.Lock()
	offsets.gate = gate
	offsets.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(func() error { return p.Follow(ctx) })
	select {
	case <-offsets.waiting:
	case <-time.After(waitTimeout):
		t.Fatal("Follow did not look up its offsets")
	}
	assert.Equal(t, Running, p.Signal().State(), "starting to follow a recovered partition")
	offsets.mu.Lock()
	offsets.gate = nil
	offsets.mu.Unlock()
	close(gate)
	cancel()
	require.NoError(t, result(t, done))
}
