package table

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/seed-b2c684ed/goka/internal/signal"
	"github.com/seed-b2c684ed/goka/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// goleveldb v1.0.0's DB.Close does not wait for mpoolDrain, which
		// may linger up to a second afterwards. A database left open still
		// shows through its compaction and journal goroutines.
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
		// sarama's metrics start one process-wide ticker that runs until
		// the process exits, by design.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	)
}

const (
	testTopic     = "tbl"
	testPartition = int32(3)
)

// waitTimeout bounds every wait of the tests.
const waitTimeout = 5 * time.Second

// keepOpen lets several partitions in a row use one store, as a restart
// with the same storage path does: its Close does nothing.
type keepOpen struct{ storage.Storage }

func (keepOpen) Close() error { return nil }

// WriteBatch keeps the wrapped store's batch capability visible.
func (k keepOpen) WriteBatch(b *storage.Batch) error { return storage.WriteBatch(k.Storage, b) }

// builderOf returns a builder handing out st.
func builderOf(st storage.Storage) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		if topic != testTopic || partition != testPartition {
			return nil, fmt.Errorf("unexpected %s/%d", topic, partition)
		}
		return st, nil
	}
}

// batchRecorder is a store that remembers the batches written to it and can
// fail one of them, without applying any of it.
type batchRecorder struct {
	storage.Storage
	mu      sync.Mutex
	sizes   []int
	offsets []int64
	failAt  int // 1-based number of the batch to fail; 0: none
}

var errBatchFailed = errors.New("batch refused")

func (r *batchRecorder) WriteBatch(b *storage.Batch) error {
	r.mu.Lock()
	n := len(r.sizes) + 1
	fail := n == r.failAt
	r.sizes = append(r.sizes, b.Len())
	off, _ := b.Offset()
	r.offsets = append(r.offsets, off)
	r.mu.Unlock()
	if fail {
		return errBatchFailed
	}
	return storage.WriteBatch(r.Storage, b)
}

func (r *batchRecorder) batches() (sizes []int, offsets []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.sizes...), append([]int64(nil), r.offsets...)
}

// logLines collects Logf output.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// fakeClock is a settable clock for the stats.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newPartition returns a partition of testTopic/testPartition on log and
// st, closed at the end of the test.
func newPartition(t testing.TB, log *fakeLog, st storage.Storage, mods ...func(*Config)) *Partition {
	t.Helper()
	cfg := Config{
		Topic:     testTopic,
		Partition: testPartition,
		Builder:   builderOf(st),
		Consumer:  log,
		Offsets:   log,
	}
	for _, mod := range mods {
		mod(&cfg)
	}
	p := New(cfg)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// contents reads every key of st.
func contents(t testing.TB, st storage.Storage) map[string]string {
	t.Helper()
	it, err := st.Iterator()
	require.NoError(t, err)
	defer it.Release()
	out := make(map[string]string)
	for it.Next() {
		v, err := it.Value()
		require.NoError(t, err)
		out[string(it.Key())] = string(v)
	}
	require.NoError(t, it.Err())
	return out
}

// storedOffset reads st's offset, noOffset when none.
func storedOffset(t testing.TB, st storage.Storage) int64 {
	t.Helper()
	off, err := st.GetOffset(noOffset)
	require.NoError(t, err)
	return off
}

// waitState waits until p is in state.
func waitState(t testing.TB, p *Partition, state signal.State) {
	t.Helper()
	select {
	case <-p.Signal().WaitForState(state):
	case <-time.After(waitTimeout):
		t.Fatalf("state %d not reached; state is %d", state, p.Signal().State())
	}
}

// runAsync runs fn in a goroutine and returns a channel with its result.
func runAsync(fn func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	return ch
}

// result waits for an asynchronous result.
func result(t testing.TB, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("call did not return")
		return nil
	}
}
