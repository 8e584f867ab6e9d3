package goka

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-b2c684ed/goka/codec"
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
	marked map[topicPartition]int64
	reset  map[topicPartition]int64
}

func (s *markingSession) ResetOffset(topic string, partition int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reset == nil {
		s.reset = make(map[topicPartition]int64)
	}
	s.reset[topicPartition{topic, partition}] = offset
}

func (s *markingSession) Claims() map[string][]int32 { return s.claims }
func (s *markingSession) Context() context.Context   { return s.ctx }
func (s *markingSession) MarkOffset(topic string, partition int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked[topicPartition{topic, partition}] = offset
}

// scriptedOffsets answers claimOffsets with the errors in fails first, then
// with offsets.
type scriptedOffsets struct {
	TopicManager
	fails   []error
	offsets map[topicPartition]claimOffsets
	calls   int
}

func (s *scriptedOffsets) claimOffsets(string, map[string][]int32) (map[topicPartition]claimOffsets, error) {
	s.calls++
	if len(s.fails) > 0 {
		err := s.fails[0]
		s.fails = s.fails[1:]
		return nil, err
	}
	return s.offsets, nil
}

func resumeTestProcessor(t *testing.T, tm TopicManager, reg prometheus.Registerer) (*Processor, *recordingLogger) {
	t.Helper()
	rec := &recordingLogger{}
	m, err := metrics.NewProcessor(reg, "resume")
	require.NoError(t, err)
	gg := DefineGroup("resume", Input("in", new(codec.String), func(Context, interface{}) {}))
	return &Processor{graph: gg, log: wrapLogger(rec), tmgr: tm, metrics: m}, rec
}

// TestResumeInRangeRetries fails the first look-up: it is retried, and only
// the partition whose committed offset fell out of the topic is moved.
func TestResumeInRangeRetries(t *testing.T) {
	reader := &scriptedOffsets{
		fails: []error{sarama.ErrNotCoordinatorForConsumer},
		offsets: map[topicPartition]claimOffsets{
			{"in", 0}: {committed: 5, oldest: 9, newest: 20},  // deleted: moved to 9
			{"in", 1}: {committed: -1, oldest: 4, newest: 20}, // none: Offsets.Initial
			{"in", 2}: {committed: 4, oldest: 4, newest: 20},  // in range
			{"in", 3}: {committed: 20, oldest: 4, newest: 20}, // in range, at the end
			{"in", 4}: {committed: 30, oldest: 4, newest: 20}, // past the end: back to 4
		},
	}
	reg := prometheus.NewPedanticRegistry()
	p, rec := resumeTestProcessor(t, reader, reg)
	session := &markingSession{ctx: context.Background(), claims: map[string][]int32{"in": {0, 1, 2, 3, 4}}, marked: make(map[topicPartition]int64)}

	require.NoError(t, p.resumeInRange(session))
	assert.Equal(t, 2, reader.calls)
	assert.Equal(t, map[topicPartition]int64{{"in", 0}: 9}, session.marked)
	assert.Equal(t, map[topicPartition]int64{{"in", 4}: 4}, session.reset)
	for partition, want := range map[string]float64{"0": 1, "1": 0, "2": 0, "3": 0, "4": 1} {
		got, found := sampleSum(t, reg, "goka_processor_offset_resets_total", map[string]string{"partition": partition})
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
	p, _ := resumeTestProcessor(t, reader, nil)
	session := &markingSession{ctx: ctx, claims: map[string][]int32{"in": {0}}, marked: make(map[topicPartition]int64)}
	require.NoError(t, p.resumeInRange(session))
	assert.Equal(t, 1, reader.calls)
	assert.Empty(t, session.marked)
}

// TestResumeInRangeForeignTopicManager leaves sarama's reset in place with a
// topic manager that cannot read committed offsets.
func TestResumeInRangeForeignTopicManager(t *testing.T) {
	p, _ := resumeTestProcessor(t, struct{ TopicManager }{}, nil)
	session := &markingSession{ctx: context.Background(), claims: map[string][]int32{"in": {0}}, marked: make(map[topicPartition]int64)}
	require.NoError(t, p.resumeInRange(session))
	assert.Empty(t, session.marked)
}
