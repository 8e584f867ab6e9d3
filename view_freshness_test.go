package goka

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
)

// freshnessBound is the worst lag the freshness tests accept between a write
// acknowledged by Kafka and the view showing it. The aim is milliseconds
// (measured: 1-2 ms worst on the embedded broker); the bound leaves room for
// a loaded 2-core machine running the race detector, and is still below the
// 100 ms that a hand-over from restoring to following through a new
// partition consumer costs (sarama's subscription batching).
const freshnessBound = 50 * time.Millisecond

// acked is a write that Kafka acknowledged, and when.
type acked struct {
	key string
	at  time.Time
}

// ackedWriter writes unique keys to a topic one at a time, each with
// EmitSync, until stopped, and hands each acknowledged key on.
type ackedWriter struct {
	acks chan acked
	stop chan struct{}
	done chan error
}

func startAckedWriter(t *testing.T, e *viewEnv, topic string, every time.Duration) *ackedWriter {
	t.Helper()
	em, err := NewEmitter(e.brokers, Stream(topic), new(codec.String),
		WithEmitterProducerBuilder(ProducerBuilderWithConfig(e.writer)))
	require.NoError(t, err)
	w := &ackedWriter{acks: make(chan acked, 100000), stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		defer close(w.acks)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				w.done <- em.Finish()
				return
			case <-tick.C:
			}
			key := fmt.Sprintf("fresh-%06d", i)
			if err := em.EmitSync(key, key); err != nil {
				w.done <- fmt.Errorf("emit %s: %w", key, err)
				_ = em.Finish()
				return
			}
			w.acks <- acked{key: key, at: time.Now()}
		}
	}()
	t.Cleanup(func() { w.finish(t) })
	return w
}

// finish stops the writer and waits for it; later calls do nothing.
func (w *ackedWriter) finish(t *testing.T) {
	t.Helper()
	select {
	case <-w.stop:
		return
	default:
	}
	close(w.stop)
	select {
	case err := <-w.done:
		assert.NoError(t, err, "writer")
	case <-time.After(kafkaWait):
		t.Error("writer did not stop")
	}
}

// lags waits, for every acknowledged write, until get shows its key, and
// returns how long after the later of its acknowledgement and from each
// one became visible. Writes are checked in order, each until it shows or
// kafkaWait passed.
func lags(t *testing.T, w *ackedWriter, from time.Time, until time.Time, get func(key string) (bool, error)) []time.Duration {
	t.Helper()
	var out []time.Duration
	for a := range w.acks {
		if a.at.After(until) {
			break
		}
		deadline := time.Now().Add(kafkaWait)
		for {
			ok, err := get(a.key)
			require.NoError(t, err, "reading %s", a.key)
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s, acknowledged at %s, never showed", a.key, a.at.Format(time.StampMicro))
			}
			// A poll, not a synchronisation: the read is what is measured.
			time.Sleep(100 * time.Microsecond)
		}
		out = append(out, time.Since(maxTime(a.at, from)))
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// describeLags is a one-line summary: count, p50, p99 and worst.
func describeLags(l []time.Duration) string {
	if len(l) == 0 {
		return "no samples"
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return fmt.Sprintf("%d samples: p50 %s, p99 %s, worst %s", len(s),
		s[len(s)/2].Round(time.Microsecond), s[len(s)*99/100].Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond))
}

// TestViewFreshAfterRecovery: a view started while its table is written
// shows every acknowledged write within milliseconds from the moment it
// reports recovered. The consumer's long poll is left at the library's
// default, as a user has it: the hand-over from restoring to following used
// to wait for it and for the consumer's subscription batching, so that the
// first writes after the recovery showed only about a second later.
func TestViewFreshAfterRecovery(t *testing.T) {
	e := newViewEnv(t, false)
	e.config.Consumer = DefaultConfig().Consumer
	e.createTable("fresh", 4)
	var pairs []tableRecord
	for i := range 200 {
		pairs = append(pairs, upsert(keyOf(i), "old"))
	}
	e.write("fresh", pairs...)

	w := startAckedWriter(t, e, "fresh", 3*time.Millisecond)
	// The view starts while the writes go on.
	<-w.acks
	v := e.run(e.newView("fresh"))
	v.recovered(t)
	recoveredAt := time.Now()

	get := func(key string) (bool, error) {
		value, err := v.Get(key)
		return value != nil, err
	}
	l := lags(t, w, recoveredAt, recoveredAt.Add(1500*time.Millisecond), get)
	w.finish(t)
	t.Logf("view freshness from recovery on: %s", describeLags(l))
	require.NotEmpty(t, l)
	assert.Less(t, slices.Max(l), freshnessBound, "a write acknowledged after the view recovered showed late")
	require.NoError(t, v.stop(t))
}

// TestViewRecoveryDoesNotWaitForTheLongPoll: a view of a table nobody
// writes reports recovered as soon as its partitions are restored. Closing
// the consumer that restored a partition waited for the broker consumer's
// fetch in flight, a long poll of Consumer.MaxWaitTime at the end of an
// idle partition; the view now hands the consumer to its follower instead.
func TestViewRecoveryDoesNotWaitForTheLongPoll(t *testing.T) {
	const longPoll = 2 * time.Second
	e := newViewEnv(t, false)
	e.config.Consumer = DefaultConfig().Consumer
	e.config.Consumer.MaxWaitTime = longPoll
	e.createTable("idle", 4)
	var pairs []tableRecord
	for i := range 100 {
		pairs = append(pairs, upsert(keyOf(i), "value"))
	}
	e.write("idle", pairs...)

	began := time.Now()
	v := e.run(e.newView("idle"))
	v.recovered(t)
	took := time.Since(began)
	t.Logf("recovered in %s", took)
	assert.Less(t, took, longPoll/2, "the recovery waited for the consumer's long poll")
	assert.Equal(t, "value", viewString(t, v.View, keyOf(42)))
	require.NoError(t, v.stop(t))
}
