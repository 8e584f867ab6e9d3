package systemtest_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// The instances of the rebalance scenarios run in the test process, so that
// a test can watch their sessions, stats and stores: each is a peer.

// sessions records the partitions an instance was assigned in each of its
// consumer group sessions, through its rebalance callback.
type sessions struct {
	mu   sync.Mutex
	seen [][]int32
}

// callback is the processor's rebalance callback.
func (s *sessions) callback(a goka.Assignment) {
	parts := make([]int32, 0, len(a))
	for p := range a {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, parts)
}

// last returns the partitions of the latest session; nil before the first.
func (s *sessions) last() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return nil
	}
	return slices.Clone(s.seen[len(s.seen)-1])
}

// heldThroughout returns the partitions that were in every session so far.
func (s *sessions) heldThroughout() (parts []int32, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := make(map[int32]int)
	for _, session := range s.seen {
		for _, p := range session {
			held[p]++
		}
	}
	for p, n := range held {
		if n == len(s.seen) {
			parts = append(parts, p)
		}
	}
	slices.Sort(parts)
	return parts, len(s.seen)
}

// peer is one processor instance of a scenario with its sessions.
type peer struct {
	name     string
	proc     *goka.Processor
	run      *run
	sessions *sessions
}

// holds reports whether the peer's latest session holds exactly parts and
// the peer is recovered: the rebalance is over for it and its partitions run.
func (m *peer) holds(parts ...int32) bool {
	return slices.Equal(m.sessions.last(), parts) && m.proc.Recovered()
}

// waitHolds waits until the peer's latest session holds exactly parts and
// it is recovered, failing at once if its Run ended.
func (m *peer) waitHolds(t *testing.T, parts ...int32) {
	t.Helper()
	waitFor(t, rebalanceDeadline, fmt.Sprintf("%s to hold partitions %v", m.name, parts), func() (bool, string) {
		require.True(t, m.run.running(), "%s ended: %v", m.name, m.run.err)
		return m.holds(parts...), fmt.Sprintf("holds %v, recovered %v", m.sessions.last(), m.proc.Recovered())
	})
}

// startPeer starts a processor of graph with the scenario clients'
// configuration, st for its stores and opts, and waits until it is ready;
// its log goes to the test's under name.
func startPeer(t *testing.T, c *cluster, name string, graph *goka.GroupGraph, st storage.Builder, opts ...goka.ProcessorOption) *peer {
	t.Helper()
	m := &peer{name: name, sessions: new(sessions)}
	opts = append(append(systemtest.ProcessorOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig(), st),
		goka.WithLogger(testLogger{t, name}), goka.WithRebalanceCallback(m.sessions.callback)), opts...)
	proc, err := goka.NewProcessor(c.brokers, graph, opts...)
	require.NoError(t, err)
	m.proc = proc
	m.run = startProcessor(t, proc)
	ctx, cancel := context.WithTimeout(context.Background(), rebalanceDeadline)
	defer cancel()
	require.NoError(t, proc.WaitForReadyContext(ctx), name)
	return m
}

// stop stops the peer and requires a clean end of its Run.
func (m *peer) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, m.run.stop(t), m.name)
}

// partitionOfKey is the partition the library's default hasher sends key
// to among n.
func partitionOfKey(t *testing.T, key string, n int32) int32 {
	t.Helper()
	h := goka.DefaultHasher()()
	_, err := h.Write([]byte(key))
	require.NoError(t, err)
	p := int32(h.Sum32()) % n
	if p < 0 {
		p = -p
	}
	return p
}

// emitInt64s sends perKey +1 messages to each of keys keys of topic and
// waits for every acknowledgement.
func emitInt64s(t *testing.T, c *cluster, topic string, keys, perKey int) {
	t.Helper()
	em, err := goka.NewEmitter(c.brokers, goka.Stream(topic), new(codec.Int64),
		systemtest.EmitterOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig())...)
	require.NoError(t, err)
	for range perKey {
		for k := range keys {
			_, err := em.Emit(keyName(k), int64(1))
			require.NoError(t, err)
		}
	}
	require.NoError(t, em.Finish())
}

// uniform is want for keys keys counted n times each.
func uniform(keys int, n int64) map[string]int64 {
	want := make(map[string]int64, keys)
	for k := range keys {
		want[keyName(k)] = n
	}
	return want
}
