package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-b2c684ed/goka/internal/metrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// markingSession is a consumer group session that records MarkOffset and
// ResetOffset.
type markingSession struct {
	sarama.ConsumerGroupSession
	ctx    context.Context
	claims map[string][]int32
	mu     sync.Mutex
	marked map[TopicPartition]int64
	reset  map[TopicPartition]int64
}

func (s *markingSession) ResetOffset(topic string, partition int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reset == nil {
		s.reset = make(map[TopicPartition]int64)
	}
	s.reset[TopicPartition{topic, partition}] = offset
}

func (s *markingSession) Claims() map[string][]int32 { return s.claims }
func (s *markingSession) Context() context.Context   { return s.ctx }
func (s *markingSession) MarkOffset(topic string, partition int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked[TopicPartition{topic, partition}] = offset
}

// scriptedOffsets answers ClaimOffsets with the errors in fails first, then
// with offsets.
type scriptedOffsets struct {
	fails   []error
	offsets map[TopicPartition]ClaimOffsets
	calls   int
}

func (s *scriptedOffsets) ClaimOffsets(string, map[string][]int32) (map[TopicPartition]ClaimOffsets, error) {
	s.calls++
	if len(s.fails) > 0 {
		err := s.fails[0]
		s.fails = s.fails[1:]
		return nil, err
	}
	return s.offsets, nil
}

// lines records what the engine logs.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, fmt.Sprintf(format, args...))
}

func (l *lines) taken() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

func resumeTestGroup(t *testing.T, reader ClaimOffsetsReader, reg prometheus.Registerer) (*Group, *lines) {
	t.Helper()
	rec := &lines{}
	m, err := metrics.NewProcessor(reg, "resume")
	require.NoError(t, err)
	cfg := &Config{
		Plan:     &Plan{Group: "resume"},
		Metrics:  m,
		Log:      rec,
		ClaimLog: func(string, int32) Logger { return rec },
		Offsets:  reader,
	}
	return NewGroup(cfg, nil), rec
}

// counterValue sums the samples of a counter whose labels include match.
func counterValue(t *testing.T, g prometheus.Gatherer, name string, match map[string]string) (sum float64, found bool) {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			labels := make(map[string]string)
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue samples
				}
			}
			found = true
			sum += m.GetCounter().GetValue()
		}
	}
	return sum, found
}

// TestResumeInRangeRetries fails the first look-up: it is retried, and only
// the partition whose committed offset fell out of the topic is moved.
func TestResumeInRangeRetries(t *testing.T) {
	reader := &scriptedOffsets{
		fails: []error{sarama.ErrNotCoordinatorForConsumer},
		offsets: map[TopicPartition]ClaimOffsets{
			{"in", 0}: {Committed: 5, Oldest: 9, Newest: 20},  // deleted: moved to 9
			{"in", 1}: {Committed: -1, Oldest: 4, Newest: 20}, // none: Offsets.Initial
			{"in", 2}: {Committed: 4, Oldest: 4, Newest: 20},  // in range
			{"in", 3}: {Committed: 20, Oldest: 4, Newest: 20}, // in range, at the end
			{"in", 4}: {Committed: 30, Oldest: 4, Newest: 20}, // past the end: back to 4
		},
	}
	reg := prometheus.NewPedanticRegistry()
	g, rec := resumeTestGroup(t, reader, reg)
	session := &markingSession{ctx: context.Background(), claims: map[string][]int32{"in": {0, 1, 2, 3, 4}}, marked: make(map[TopicPartition]int64)}

	moved, err := g.resumeInRange(session, session.Claims())
	require.NoError(t, err)
	assert.True(t, moved)
	assert.Equal(t, 2, reader.calls)
	assert.Equal(t, map[TopicPartition]int64{{"in", 0}: 9}, session.marked)
	assert.Equal(t, map[TopicPartition]int64{{"in", 4}: 4}, session.reset)
	for partition, want := range map[string]float64{"0": 1, "1": 0, "2": 0, "3": 0, "4": 1} {
		got, found := counterValue(t, reg, "goka_processor_offset_resets_total", map[string]string{"partition": partition})
		assert.True(t, found, partition)
		assert.Equal(t, want, got, partition)
	}
	lines := rec.taken()
	require.Len(t, lines, 3, "a retry line and two reset lines: %q", lines)
	assert.Contains(t, lines[0], "retrying")
	assert.Contains(t, lines[1], "topic in partition 0: the committed offset 5 is below the oldest offset 9")
	assert.Contains(t, lines[2], "topic in partition 4: the committed offset 30 is past the newest offset 20")
}

// TestResumeInRangeSessionEnded stops retrying when the session ends, and
// does not fail the processor for it.
func TestResumeInRangeSessionEnded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	reader := &scriptedOffsets{fails: []error{errors.New("unreachable")}}
	g, _ := resumeTestGroup(t, reader, nil)
	session := &markingSession{ctx: ctx, claims: map[string][]int32{"in": {0}}, marked: make(map[TopicPartition]int64)}
	_, err := g.resumeInRange(session, session.Claims())
	require.NoError(t, err)
	assert.Equal(t, 1, reader.calls)
	assert.Empty(t, session.marked)
}

// TestResumeInRangeWithoutReader leaves sarama's reset in place when the
// topic manager cannot read committed offsets.
func TestResumeInRangeWithoutReader(t *testing.T) {
	g, _ := resumeTestGroup(t, nil, nil)
	session := &markingSession{ctx: context.Background(), claims: map[string][]int32{"in": {0}}, marked: make(map[TopicPartition]int64)}
	_, err := g.resumeInRange(session, session.Claims())
	require.NoError(t, err)
	assert.Empty(t, session.marked)
}
