package commit

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reports collects what a Watch warns about.
type reports struct {
	mu  sync.Mutex
	all []Overdue
}

func (r *reports) warn(o Overdue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, o)
}

func (r *reports) get() []Overdue {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Overdue(nil), r.all...)
}

const (
	waitFor = 5 * time.Second
	tick    = 2 * time.Millisecond
)

func TestAnUnreleasedDeferredCommitIsReportedOnce(t *testing.T) {
	var r reports
	w := NewWatch(20*time.Millisecond, r.warn)
	defer w.Close()
	release := w.Add(Deferred{Topic: "in", Partition: 3, Offset: 42, Key: "user-1"})
	d, _, ok := w.Oldest()
	require.True(t, ok)
	assert.Equal(t, int64(42), d.Offset)

	require.Eventually(t, func() bool { return len(r.get()) == 1 }, waitFor, tick)
	got := r.get()[0]
	assert.Equal(t, "in", got.Oldest.Topic)
	assert.Equal(t, int32(3), got.Oldest.Partition)
	assert.Equal(t, int64(42), got.Oldest.Offset)
	assert.Equal(t, "user-1", got.Oldest.Key)
	assert.GreaterOrEqual(t, got.Age, 20*time.Millisecond)
	assert.Zero(t, got.More)
	_, age, ok := w.Oldest()
	require.True(t, ok)
	assert.GreaterOrEqual(t, age, 20*time.Millisecond)

	// A second one, later, is reported on its own; the first is not again.
	release2 := w.Add(Deferred{Topic: "in", Partition: 3, Offset: 43})
	require.Eventually(t, func() bool { return len(r.get()) == 2 }, waitFor, tick)
	assert.Equal(t, int64(43), r.get()[1].Oldest.Offset)

	release()
	release() // harmless
	d, _, ok = w.Oldest()
	require.True(t, ok)
	assert.Equal(t, int64(43), d.Offset)
	release2()
	_, _, ok = w.Oldest()
	assert.False(t, ok, "released: nothing pending")
	assert.Zero(t, w.Len())
}

func TestOverdueCommitsAreReportedTogether(t *testing.T) {
	var r reports
	w := NewWatch(time.Hour, r.warn)
	defer w.Close()
	start := time.Now()
	w.now = func() time.Time { return start }
	for i := range 5 {
		w.Add(Deferred{Offset: int64(i), Since: start.Add(time.Duration(i) * time.Second)})
	}
	w.mu.Lock()
	w.now = func() time.Time { return start.Add(time.Hour + 2*time.Second) }
	w.mu.Unlock()
	w.check()
	require.Len(t, r.get(), 1)
	assert.Equal(t, Overdue{Oldest: Deferred{Offset: 0, Since: start}, Age: time.Hour + 2*time.Second, More: 2}, r.get()[0],
		"the oldest of the three past the hour, and a count of the others")
}

func TestReleasedBeforeTheLimitIsNeverReported(t *testing.T) {
	var r reports
	w := NewWatch(30*time.Millisecond, r.warn)
	release := w.Add(Deferred{Offset: 1})
	release()
	later := w.Add(Deferred{Offset: 2})
	require.Eventually(t, func() bool { return len(r.get()) == 1 }, waitFor, tick)
	assert.Equal(t, int64(2), r.get()[0].Oldest.Offset, "only the one still pending")
	later()
	w.Close()
}

func TestNoLimitNoWarning(t *testing.T) {
	w := NewWatch(0, func(Overdue) { t.Error("warned without a limit") })
	defer w.Close()
	w.Add(Deferred{Offset: 1, Since: time.Now().Add(-time.Hour)})
	w.check()
	_, age, ok := w.Oldest()
	require.True(t, ok)
	assert.GreaterOrEqual(t, age, time.Hour, "the age is still known, for the metric")
}

func TestConcurrentDeferrals(t *testing.T) {
	var r reports
	w := NewWatch(time.Millisecond, r.warn)
	defer w.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				release := w.Add(Deferred{Partition: int32(g), Offset: int64(i)})
				w.Oldest()
				if i%3 != 0 {
					release()
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 4*167, w.Len())
}
