package tester

import (
	"fmt"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
)

// MockTopicManager is the tester's goka.TopicManager: every topic exists
// with the single partition 0.
type MockTopicManager struct {
	tt *Tester
}

var _ goka.TopicManager = (*MockTopicManager)(nil)

// NewMockTopicManager returns the tester's topic manager. The partition count
// and replication factor are ignored, as in goka: the tester has one
// partition per topic.
func NewMockTopicManager(tt *Tester, defaultNumPartitions int, defaultReplFactor int) *MockTopicManager {
	return &MockTopicManager{tt: tt}
}

// EnsureTableExists creates the table; it must have one partition.
func (tm *MockTopicManager) EnsureTableExists(topic string, npar int) error {
	return tm.ensure(topic, npar)
}

// EnsureStreamExists creates the stream; it must have one partition.
func (tm *MockTopicManager) EnsureStreamExists(topic string, npar int) error {
	return tm.ensure(topic, npar)
}

// EnsureTopicExists creates the topic; it must have one partition.
func (tm *MockTopicManager) EnsureTopicExists(topic string, npar, rfactor int, config map[string]string) error {
	return tm.ensure(topic, npar)
}

func (tm *MockTopicManager) ensure(topic string, npar int) error {
	if npar != 1 {
		return fmt.Errorf("tester: topic %s: the tester has one partition per topic, not %d", topic, npar)
	}
	tm.tt.broker.ensure(topic)
	return nil
}

// Partitions returns [0] for every topic.
func (tm *MockTopicManager) Partitions(topic string) ([]int32, error) {
	tm.tt.broker.ensure(topic)
	return []int32{0}, nil
}

// GetOffset returns 0 for the oldest offset and the queue's length for the
// newest.
func (tm *MockTopicManager) GetOffset(topic string, partitionID int32, time int64) (int64, error) {
	if time == sarama.OffsetNewest {
		return tm.tt.broker.hwm(topic), nil
	}
	return 0, nil
}

// Close does nothing.
func (tm *MockTopicManager) Close() error { return nil }
