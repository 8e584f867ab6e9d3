package systemtest_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// verdict compares the per-key counts read from a table with the messages
// acknowledged per key.
type verdict struct {
	keys       int   // keys expected
	messages   int64 // messages acknowledged
	lost       int64 // sum over keys of the messages missing from the count
	duplicates int64 // sum over keys of the count above the messages
	lostKeys   []string
	extraKeys  []string // keys in the table that were never produced
}

// compareCounts computes the verdict of got against want.
func compareCounts(got, want map[string]int64) verdict {
	var v verdict
	v.keys = len(want)
	for key, n := range want {
		v.messages += n
		switch c := got[key]; {
		case c < n:
			v.lost += n - c
			v.lostKeys = append(v.lostKeys, fmt.Sprintf("%s:%d<%d", key, c, n))
		case c > n:
			v.duplicates += c - n
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			v.extraKeys = append(v.extraKeys, key)
		}
	}
	sort.Strings(v.lostKeys)
	sort.Strings(v.extraKeys)
	return v
}

func (v verdict) String() string {
	s := fmt.Sprintf("%d messages over %d keys: %d lost, %d counted twice", v.messages, v.keys, v.lost, v.duplicates)
	if len(v.lostKeys) > 0 {
		s += fmt.Sprintf("; short keys %s", firstOf(v.lostKeys, 10))
	}
	if len(v.extraKeys) > 0 {
		s += fmt.Sprintf("; unexpected keys %s", firstOf(v.extraKeys, 10))
	}
	return s
}

// requireNoLoss fails unless every message is counted at least once and no
// key appeared from nowhere.
func (v verdict) requireNoLoss(t *testing.T) {
	t.Helper()
	require.Zero(t, v.lost, "lost updates: %s", v)
	require.Empty(t, v.extraKeys, "%s", v)
}

// requireExact fails unless every message is counted exactly once.
func (v verdict) requireExact(t *testing.T) {
	t.Helper()
	v.requireNoLoss(t)
	require.Zero(t, v.duplicates, "double counting: %s", v)
}

func firstOf(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, " ")
	}
	return strings.Join(s[:n], " ") + fmt.Sprintf(" and %d more", len(s)-n)
}

// readTable reads every key of a counter table through a new view: the
// verifier's copy of what the processors left in Kafka. Extra options go to
// the view (goka.WithViewReadCommitted for what an exactly-once processor's
// readers see).
func readTable(t *testing.T, brokers []string, table goka.Table, extra ...goka.ViewOption) map[string]int64 {
	t.Helper()
	opts := append(systemtest.ViewOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig(), storage.MemoryBuilder()),
		goka.WithViewLogger(testLogger{t, "verifier view"}))
	view, err := goka.NewView(brokers, table, new(codec.Int64), append(opts, extra...)...)
	require.NoError(t, err)
	run := startView(t, view)
	defer func() { require.NoError(t, run.stop(t)) }()
	ctx, cancel := context.WithTimeout(context.Background(), consumeDeadline)
	defer cancel()
	require.NoError(t, view.WaitRecovered(ctx))
	return viewCounts(t, view)
}

// viewCounts iterates a recovered view of a counter table.
func viewCounts(t *testing.T, view *goka.View) map[string]int64 {
	t.Helper()
	it, err := view.Iterator()
	require.NoError(t, err)
	defer it.Release()
	counts := make(map[string]int64)
	for it.Next() {
		v, err := it.Value()
		require.NoError(t, err)
		if v != nil {
			counts[it.Key()] = v.(int64)
		}
	}
	require.NoError(t, it.Err())
	return counts
}

// viewMatches reports whether view holds want[key] for every key, and if not
// the first difference.
func viewMatches(view *goka.View, want map[string]int64) (bool, string) {
	for key, n := range want {
		v, err := view.Get(key)
		if err != nil {
			return false, fmt.Sprintf("%s: %v", key, err)
		}
		if got, _ := v.(int64); got != n {
			return false, fmt.Sprintf("%s: view has %v, want %d", key, v, n)
		}
	}
	return true, ""
}

// waitView waits until view holds want[key] for every key. On a timeout it
// logs where each partition of the view stands against its topic before it
// fails the test.
func waitView(t *testing.T, c *cluster, view *goka.View, want map[string]int64, what string) {
	t.Helper()
	deadline := time.NewTimer(consumeDeadline)
	defer deadline.Stop()
	ticker := time.NewTicker(pollEvery)
	defer ticker.Stop()
	for {
		ok, why := viewMatches(view, want)
		if ok {
			return
		}
		select {
		case <-ticker.C:
			continue
		case <-deadline.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		stats := view.Stats(ctx)
		cancel()
		var parts []string
		for p, s := range stats.Partitions {
			hwm, err := c.client.GetOffset(view.Topic(), p, sarama.OffsetNewest)
			parts = append(parts, fmt.Sprintf("p%d: status %v, read %d, last offset %d, lag %d, recovered up to %d of %d; topic ends at %d (%v)",
				p, s.Status, s.Input.Count, s.Input.LastOffset, s.Input.OffsetLag, s.Recovery.Offset, s.Recovery.Hwm, hwm, err))
		}
		sort.Strings(parts)
		t.Fatalf("timed out after %s waiting for %s: %s; view state %s; partitions:\n%s",
			consumeDeadline, what, why, viewStateName(view.CurrentState()), strings.Join(parts, "\n"))
	}
}

// run is a processor's or a view's Run in the background.
type run struct {
	name    string
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
	started time.Time
	ended   time.Time
}

// startRun calls fn in a goroutine with a context that stop cancels; the
// test's cleanup stops it and waits for it if the test did not.
func startRun(t *testing.T, name string, fn func(context.Context) error) *run {
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{name: name, cancel: cancel, done: make(chan struct{}), started: time.Now()}
	go func() {
		defer close(r.done)
		r.err = fn(ctx)
		r.ended = time.Now()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(stopDeadline):
			t.Errorf("%s: Run did not return within %s of its cancel", name, stopDeadline)
		}
	})
	return r
}

func startProcessor(t *testing.T, proc *goka.Processor) *run {
	return startRun(t, "processor "+string(proc.Graph().Group()), proc.Run)
}

func startView(t *testing.T, view *goka.View) *run {
	return startRun(t, "view "+view.Topic(), view.Run)
}

// stop cancels Run and returns its result.
func (r *run) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t, stopDeadline)
}

// wait returns Run's result once it ended by itself, failing the test if it
// did not within d.
func (r *run) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(d):
		t.Fatalf("%s: Run did not return within %s", r.name, d)
		return nil
	}
}

// running reports whether Run has not returned yet.
func (r *run) running() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}
