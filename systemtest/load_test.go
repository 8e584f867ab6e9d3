package systemtest_test

import (
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// load sends +1 messages over a fixed set of keys, round robin, at a steady
// rate, until finished. It records which sends Kafka acknowledged: those are
// what a verifier expects to find counted.
type load struct {
	em      *goka.Emitter
	keys    int
	perTick int
	every   time.Duration

	mu     sync.Mutex
	acked  map[string]int64
	failed []error

	ackedTotal atomic.Int64
	stop       chan struct{}
	done       chan struct{}
	finishOnce sync.Once
}

// startLoad starts sending perTick messages every interval to topic; finish
// stops it, and the test's cleanup does if the test did not.
func startLoad(t *testing.T, brokers []string, topic string, keys, perTick int, every time.Duration) *load {
	t.Helper()
	return startLoadWith(t, brokers, systemtest.FastConfig(), systemtest.TopicManagerConfig(), topic, keys, perTick, every)
}

// startLoadWith is startLoad with an emitter configured by cfg and tmc.
func startLoadWith(t *testing.T, brokers []string, cfg *sarama.Config, tmc *goka.TopicManagerConfig,
	topic string, keys, perTick int, every time.Duration,
) *load {
	t.Helper()
	em, err := goka.NewEmitter(brokers, goka.Stream(topic), new(codec.Int64), systemtest.EmitterOptions(cfg, tmc)...)
	require.NoError(t, err)
	l := &load{
		em: em, keys: keys, perTick: perTick, every: every,
		acked: make(map[string]int64, keys),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go l.loop()
	t.Cleanup(func() { l.finish(t) })
	return l
}

func (l *load) loop() {
	defer close(l.done)
	ticker := time.NewTicker(l.every)
	defer ticker.Stop()
	next := 0
	for {
		select {
		case <-l.stop:
			return
		case <-ticker.C:
		}
		for range l.perTick {
			key := keyName(next % l.keys)
			next++
			promise, err := l.em.Emit(key, int64(1))
			if err != nil {
				l.record(key, err)
				continue
			}
			promise.Then(func(err error) { l.record(key, err) })
		}
	}
}

func (l *load) record(key string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed = append(l.failed, fmt.Errorf("emit %s: %w", key, err))
		return
	}
	l.acked[key]++
	l.ackedTotal.Add(1)
}

// total returns how many sends were acknowledged so far.
func (l *load) total() int64 { return l.ackedTotal.Load() }

// waitMore waits until n more sends than now were acknowledged: the stream
// went on while something else happened.
func (l *load) waitMore(t *testing.T, n int64) {
	t.Helper()
	target := l.total() + n
	waitFor(t, rebalanceDeadline, fmt.Sprintf("%d more acknowledged sends", n), func() (bool, string) {
		got := l.total()
		return got >= target, fmt.Sprintf("%d of %d", got, target)
	})
}

// finish stops sending, waits until every send was answered and returns the
// acknowledged messages per key and the failed sends.
func (l *load) finish(t *testing.T) (map[string]int64, []error) {
	t.Helper()
	l.finishOnce.Do(func() {
		close(l.stop)
		<-l.done
		if err := l.em.Finish(); err != nil {
			t.Errorf("finishing the load's emitter: %v", err)
		}
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.acked), append([]error(nil), l.failed...)
}
