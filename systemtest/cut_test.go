package systemtest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// cutDetectDeadline is how long a processor may take to notice that every
// connection to the broker is gone and return from Run.
const cutDetectDeadline = 30 * time.Second

// TestConnectionCut puts a processor, a view and an emitter behind a proxy
// and cuts every connection. The processor's Run must return an error
// promptly instead of hanging; the view, which reconnects, must keep serving
// what it has and catch up once the proxy is restored; EmitSync must report
// the sends it could not make, and every send it reported as made must be in
// the topic.
func TestConnectionCut(t *testing.T) {
	const partitions, keys, before = 6, 40, 200
	c := newCluster(t)
	px := newProxied(t, c)
	tmc := systemtest.TopicManagerConfig()
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	sends := systemtest.UniqueName(t, "sends")
	table := tableOf(group)
	c.createStream(input, partitions)
	c.createStream(sends, 1)
	c.deleteLater(string(table))
	want := make(map[string]int64, keys)

	proc, err := goka.NewProcessor(c.brokers, systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil),
		append(systemtest.ProcessorOptions(px.cfg, tmc, storage.MemoryBuilder()), goka.WithLogger(testLogger{t, "processor"}))...)
	require.NoError(t, err)
	procRun := startProcessor(t, proc)
	ctx, cancel := context.WithTimeout(context.Background(), rebalanceDeadline)
	defer cancel()
	require.NoError(t, proc.WaitForReadyContext(ctx))

	view, err := goka.NewView(c.brokers, table, new(codec.Int64),
		append(systemtest.ViewOptions(px.cfg, tmc, storage.MemoryBuilder()),
			goka.WithViewAutoReconnect(),
			goka.WithViewBackoffBuilder(func() (goka.Backoff, error) { return goka.NewSimpleBackoff(500*time.Millisecond, 2*time.Second), nil }),
			goka.WithViewLogger(testLogger{t, "view"}))...)
	require.NoError(t, err)
	startView(t, view)
	require.NoError(t, view.WaitRecovered(ctx))

	em, err := goka.NewEmitter(c.brokers, goka.Stream(input), new(codec.Int64), systemtest.EmitterOptions(px.cfg, tmc)...)
	require.NoError(t, err)
	for i := range before {
		require.NoError(t, em.EmitSync(keyName(i%keys), int64(1)))
		want[keyName(i%keys)]++
	}
	require.NoError(t, em.Finish())
	// Everything so far is committed: whatever follows must neither lose
	// nor repeat it.
	c.waitConsumed(group, input, partitions, procRun)
	waitView(t, c, view, want, "the view to show the counts")
	require.Positive(t, px.proxy.Connections(), "the clients talk through the proxy")

	probe, err := goka.NewEmitter(c.brokers, goka.Stream(sends), new(codec.String), systemtest.EmitterOptions(px.cfg, tmc)...)
	require.NoError(t, err)
	sender := startSender(probe)
	waitFor(t, consumeDeadline, "EmitSync to get through before the cut", func() (bool, string) {
		made, failed, _ := sender.counts()
		return made >= 10, fmt.Sprintf("%d made, %d failed", made, failed)
	})

	cutAt := time.Now()
	px.proxy.Cut()
	runErr := procRun.wait(t, cutDetectDeadline)
	detected := procRun.ended.Sub(cutAt)
	require.Error(t, runErr, "Run must end with an error when the broker is unreachable")
	t.Logf("Run returned %s after the cut: %v", detected.Round(time.Millisecond), shortErr(runErr))

	// The view serves what it had, and says nothing is missing.
	ok, why := viewMatches(view, want)
	require.True(t, ok, "the view during the cut: %s", why)
	viewState := view.CurrentState()

	// The input grows while the processor is away: a direct emitter.
	direct, err := goka.NewEmitter(c.brokers, goka.Stream(input), new(codec.Int64),
		systemtest.EmitterOptions(systemtest.FastConfig(), tmc)...)
	require.NoError(t, err)
	for i := range before {
		require.NoError(t, direct.EmitSync(keyName(i%keys), int64(1)))
		want[keyName(i%keys)]++
	}
	require.NoError(t, direct.Finish())
	// The sender has tried during the cut, and heard about its failures.
	waitFor(t, rebalanceDeadline, "EmitSync to report a failure during the cut", func() (bool, string) {
		okSends, failedSends, _ := sender.counts()
		return failedSends > 0, fmt.Sprintf("%d made, %d failed", okSends, failedSends)
	})
	px.proxy.Restore()
	restoredAt := time.Now()

	// A new processor through the restored proxy resumes from the commits.
	proc2, err := goka.NewProcessor(c.brokers, systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil),
		append(systemtest.ProcessorOptions(px.cfg, tmc, storage.MemoryBuilder()), goka.WithLogger(testLogger{t, "processor 2"}))...)
	require.NoError(t, err)
	proc2Run := startProcessor(t, proc2)
	waitView(t, c, view, want, "the view to catch up after the restore")
	caughtUp := time.Since(restoredAt)
	c.waitConsumed(group, input, partitions, proc2Run)
	require.NoError(t, proc2Run.stop(t))

	// The sender gets through again, then stops. sarama's producer may
	// refuse sends for a while after the restore: after three failures in a
	// row its circuit breaker stays open for ten seconds.
	base, _, _ := sender.counts()
	waitFor(t, rebalanceDeadline, "EmitSync to succeed after the restore", func() (bool, string) {
		made, failed, _ := sender.counts()
		return made > base, fmt.Sprintf("%d made, %d failed", made, failed)
	})
	made, failedSends, slowest := sender.stop(t)
	require.NoError(t, probe.Finish())
	t.Logf("EmitSync: %s", sender.timeline(cutAt, restoredAt))
	stored := readStrings(t, c, sends)
	var missing []string
	for _, id := range made {
		if !stored[id] {
			missing = append(missing, id)
		}
	}

	v := compareCounts(readTable(t, c.brokers, table), want)
	t.Logf("summary: connection cut: Run returned an error %s after the cut; view state during the cut %s, caught up %s after the restore; "+
		"EmitSync: %d made, %d failed, slowest %s, %d made but missing; table: %s",
		detected.Round(time.Millisecond), viewStateName(viewState), caughtUp.Round(time.Millisecond),
		len(made), failedSends, slowest.Round(time.Millisecond), len(missing), v)
	assert.Empty(t, missing, "EmitSync returned nil for sends that are not in the topic")
	assert.Less(t, slowest, cutDetectDeadline, "an EmitSync hung")
	v.requireExact(t)
}

// sender calls EmitSync with unique values in a loop and records what each
// call returned and how long the slowest took.
type sender struct {
	em     *goka.Emitter
	prefix string        // of the values, which are prefix-n
	every  time.Duration // between the starts of two calls
	quit   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	made     []string
	madeAt   []time.Time
	failed   int
	failedAt []time.Time
	errs     map[string]int // distinct errors, for the log
	slowest  time.Duration
}

func startSender(em *goka.Emitter) *sender {
	return startSenderEvery(em, "send", 20*time.Millisecond)
}

// startSenderEvery starts a sender whose values start with prefix, calling
// EmitSync at most once per every.
func startSenderEvery(em *goka.Emitter, prefix string, every time.Duration) *sender {
	s := &sender{em: em, prefix: prefix, every: every, quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *sender) loop() {
	defer close(s.done)
	ticker := time.NewTicker(s.every)
	defer ticker.Stop()
	for n := 0; ; n++ {
		select {
		case <-s.quit:
			return
		case <-ticker.C:
		}
		id := fmt.Sprintf("%s-%06d", s.prefix, n)
		start := time.Now()
		err := s.em.EmitSync(id, id)
		took := time.Since(start)
		s.mu.Lock()
		if err != nil {
			s.failed++
			s.failedAt = append(s.failedAt, time.Now())
			if s.errs == nil {
				s.errs = make(map[string]int)
			}
			s.errs[shortErr(err)]++
		} else {
			s.made = append(s.made, id)
			s.madeAt = append(s.madeAt, time.Now())
		}
		s.slowest = max(s.slowest, took)
		s.mu.Unlock()
	}
}

// timeline tells how the sends went before the cut, during it and after the
// restore, and with which errors.
func (s *sender) timeline(cutAt, restoredAt time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	phase := func(at []time.Time) [3]int {
		var n [3]int
		for _, t := range at {
			switch {
			case t.Before(cutAt):
				n[0]++
			case t.Before(restoredAt):
				n[1]++
			default:
				n[2]++
			}
		}
		return n
	}
	made, failed := phase(s.madeAt), phase(s.failedAt)
	firstAfter := "none"
	for _, t := range s.madeAt {
		if !t.Before(restoredAt) {
			firstAfter = t.Sub(restoredAt).Round(time.Millisecond).String()
			break
		}
	}
	return fmt.Sprintf("made/failed before the cut %d/%d, during %d/%d, after the restore %d/%d (first made %s after); errors %v",
		made[0], failed[0], made[1], failed[1], made[2], failed[2], firstAfter, s.errs)
}

func (s *sender) counts() (made, failed int, slowest time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.made), s.failed, s.slowest
}

// stop ends the loop and returns the ids of the sends EmitSync reported as
// made, the number it reported as failed, and the slowest call.
func (s *sender) stop(t *testing.T) (made []string, failed int, slowest time.Duration) {
	t.Helper()
	close(s.quit)
	select {
	case <-s.done:
	case <-time.After(cutDetectDeadline):
		t.Fatalf("EmitSync did not return within %s", cutDetectDeadline)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.made...), s.failed, s.slowest
}

// readStrings reads partition 0 of topic from the start to its end and
// returns the values it holds.
func readStrings(t *testing.T, c *cluster, topic string) map[string]bool {
	t.Helper()
	end, err := c.client.GetOffset(topic, 0, sarama.OffsetNewest)
	require.NoError(t, err)
	values := make(map[string]bool)
	if end == 0 {
		return values
	}
	consumer, err := sarama.NewConsumerFromClient(c.client)
	require.NoError(t, err)
	defer func() { require.NoError(t, consumer.Close()) }()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	require.NoError(t, err)
	defer func() { require.NoError(t, pc.Close()) }()
	timeout := time.NewTimer(consumeDeadline)
	defer timeout.Stop()
	for {
		select {
		case msg := <-pc.Messages():
			values[string(msg.Value)] = true
			if msg.Offset >= end-1 {
				return values
			}
		case err := <-pc.Errors():
			require.NoError(t, err)
		case <-timeout.C:
			t.Fatalf("read %d values of %s by %s, the topic ends at %d", len(values), topic, consumeDeadline, end)
		}
	}
}

// viewStateName names a view's state for the log.
func viewStateName(s goka.ViewState) string {
	switch s {
	case goka.ViewStateIdle:
		return "idle"
	case goka.ViewStateInitializing:
		return "initializing"
	case goka.ViewStateConnecting:
		return "connecting"
	case goka.ViewStateCatchUp:
		return "catching up"
	case goka.ViewStateRunning:
		return "running"
	default:
		return fmt.Sprintf("state %d", s)
	}
}
