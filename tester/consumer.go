package tester

import (
	"context"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// consumer is the sarama.Consumer that tables and views read with: it
// starts partition consumers at explicit offsets.
type consumer struct {
	tt       *Tester
	clientID string

	mu         sync.Mutex
	partitions map[*partitionConsumer]struct{}
}

var _ sarama.Consumer = (*consumer)(nil)

func (c *consumer) Topics() ([]string, error) {
	c.tt.broker.mu.Lock()
	defer c.tt.broker.mu.Unlock()
	topics := make([]string, 0, len(c.tt.broker.topics))
	for t := range c.tt.broker.topics {
		topics = append(topics, t)
	}
	return topics, nil
}

func (c *consumer) Partitions(topic string) ([]int32, error) { return []int32{0}, nil }

func (c *consumer) ConsumePartition(topic string, partition int32, offset int64) (sarama.PartitionConsumer, error) {
	if partition != 0 {
		return nil, fmt.Errorf("tester: topic %s has only partition 0, not %d", topic, partition)
	}
	switch offset {
	case sarama.OffsetOldest:
		offset = 0
	case sarama.OffsetNewest:
		offset = c.tt.broker.hwm(topic)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pc := &partitionConsumer{
		tt:       c.tt,
		topic:    topic,
		messages: make(chan *sarama.ConsumerMessage),
		errors:   make(chan *sarama.ConsumerError),
		cancel:   cancel,
		done:     make(chan struct{}),
		owner:    c,
	}
	c.mu.Lock()
	c.partitions[pc] = struct{}{}
	c.mu.Unlock()
	c.tt.readerStarted(c.clientID, topic)
	go pc.deliver(ctx, offset)
	return pc, nil
}

func (c *consumer) HighWaterMarks() map[string]map[int32]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	marks := make(map[string]map[int32]int64)
	for pc := range c.partitions {
		marks[pc.topic] = map[int32]int64{0: c.tt.broker.hwm(pc.topic)}
	}
	return marks
}

func (c *consumer) Close() error {
	c.mu.Lock()
	pcs := make([]*partitionConsumer, 0, len(c.partitions))
	for pc := range c.partitions {
		pcs = append(pcs, pc)
	}
	c.mu.Unlock()
	for _, pc := range pcs {
		pc.Close()
	}
	return nil
}

func (c *consumer) Pause(map[string][]int32)  {}
func (c *consumer) Resume(map[string][]int32) {}
func (c *consumer) PauseAll()                 {}
func (c *consumer) ResumeAll()                {}

// partitionConsumer delivers a topic's queue from an offset on, waiting for
// new messages as they are appended.
type partitionConsumer struct {
	tt       *Tester
	topic    string
	messages chan *sarama.ConsumerMessage
	errors   chan *sarama.ConsumerError
	cancel   context.CancelFunc
	done     chan struct{}
	owner    *consumer
	once     sync.Once
}

var _ sarama.PartitionConsumer = (*partitionConsumer)(nil)

func (pc *partitionConsumer) deliver(ctx context.Context, offset int64) {
	defer close(pc.done)
	defer close(pc.messages)
	defer close(pc.errors)
	pc.tt.broker.deliver(ctx, pc.topic, offset, pc.messages)
}

func (pc *partitionConsumer) AsyncClose() { pc.stop() }

func (pc *partitionConsumer) Close() error {
	pc.stop()
	<-pc.done
	return nil
}

func (pc *partitionConsumer) stop() {
	pc.once.Do(func() {
		pc.cancel()
		pc.owner.mu.Lock()
		delete(pc.owner.partitions, pc)
		pc.owner.mu.Unlock()
		pc.tt.broker.notify()
	})
}

func (pc *partitionConsumer) Messages() <-chan *sarama.ConsumerMessage { return pc.messages }
func (pc *partitionConsumer) Errors() <-chan *sarama.ConsumerError     { return pc.errors }
func (pc *partitionConsumer) HighWaterMarkOffset() int64               { return pc.tt.broker.hwm(pc.topic) }
func (pc *partitionConsumer) Pause()                                   {}
func (pc *partitionConsumer) Resume()                                  {}
func (pc *partitionConsumer) IsPaused() bool                           { return false }
