package goka

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
)

// TestProcessorJoinFreshAfterRecovery: a processor started while its joined
// table is written sees, in its callbacks, every acknowledged write of the
// table within milliseconds from the moment it is ready. Staleness is
// measured at every callback: how long the oldest write it does not see has
// been acknowledged.
//
// Each joined table's follower takes over the consumer that restored it
// (table.Config.KeepConsumer, set in newTablePartition), as soon as that
// table is restored. A new consumer would fetch only after sarama's 100 ms
// subscription batching; the callbacks start about as late (the input's
// consumer goes through the same batching), so about every other run saw a
// write acknowledged 100 ms earlier. With the hand-over: worst 0.6-10 ms in
// 4 of 4 runs.
func TestProcessorJoinFreshAfterRecovery(t *testing.T) {
	e := newProcEnv(t)
	e.config.Consumer.MaxWaitTime = DefaultConfig().Consumer.MaxWaitTime
	e.createTopic("join-fresh-in", 1)
	e.createTopic("fresh-joined", 1)

	// The table's writer: one key, a rising number, each write
	// acknowledged before the next. Beside it, probes into the input,
	// from before the processor starts, so that callbacks run from the
	// moment it is ready.
	var (
		mu    sync.Mutex
		acked []time.Time // acked[n] is when write n was acknowledged
	)
	stopWriting := make(chan struct{})
	writing := make(chan error, 2)
	write := func(topic string, value func(n int) string, every time.Duration, done func(n int)) {
		em := e.emitter(Stream(topic), new(codec.String))
		go func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-stopWriting:
					writing <- em.Finish()
					return
				case <-tick.C:
				}
				if err := em.EmitSync("k", value(n)); err != nil {
					writing <- err
					_ = em.Finish()
					return
				}
				done(n)
			}
		}()
	}
	write("fresh-joined", strconv.Itoa, 3*time.Millisecond, func(int) {
		mu.Lock()
		acked = append(acked, time.Now())
		mu.Unlock()
	})
	write("join-fresh-in", func(int) string { return "probe" }, 2*time.Millisecond, func(int) {})
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		close(stopWriting)
		require.NoError(t, <-writing)
		require.NoError(t, <-writing)
	}
	t.Cleanup(stop)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 20 }, kafkaWait, time.Millisecond)

	type seen struct {
		at time.Time
		n  int // the write the callback saw; -1: none
	}
	seenCh := make(chan seen, 100000)
	gg := DefineGroup("join-fresh",
		Input("join-fresh-in", new(codec.String), func(ctx Context, _ interface{}) {
			s := seen{at: time.Now(), n: -1}
			if v := ctx.Join("fresh-joined"); v != nil {
				n, err := strconv.Atoi(v.(string))
				if err == nil {
					s.n = n
				}
			}
			select {
			case seenCh <- s:
			default:
			}
		}),
		Join("fresh-joined", new(codec.String)),
	)
	proc := e.processor(gg, storage.MemoryBuilder())
	r := e.startReady(proc)
	readyAt := time.Now()

	// Callbacks for a second and a half.
	require.Eventually(t, func() bool { return time.Since(readyAt) > 1500*time.Millisecond }, kafkaWait, 10*time.Millisecond)
	stop()
	require.NoError(t, r.stop(t))
	close(seenCh)

	mu.Lock()
	defer mu.Unlock()
	var stale []time.Duration
	first := true
	for s := range seenCh {
		if first {
			t.Logf("first callback %s after readiness, saw write %d of %d", s.at.Sub(readyAt), s.n, len(acked))
			first = false
		}
		// The oldest write the callback missed, if it was acknowledged
		// before the callback ran.
		if next := s.n + 1; next < len(acked) && acked[next].Before(s.at) {
			stale = append(stale, s.at.Sub(maxTime(acked[next], readyAt)))
		} else {
			stale = append(stale, 0)
		}
	}
	t.Logf("join staleness in callbacks from readiness on: %s", describeLags(stale))
	require.NotEmpty(t, stale)
	worst := stale[0]
	for _, d := range stale {
		worst = max(worst, d)
	}
	assert.Less(t, worst, freshnessBound, "a callback missed a write acknowledged well before it")
}
