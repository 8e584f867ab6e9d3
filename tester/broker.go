package tester

import (
	"context"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// message is one record of a topic's queue.
type message struct {
	key       string
	value     []byte
	headers   []*sarama.RecordHeader
	timestamp time.Time
}

// broker holds the topics and the committed offsets, and wakes everybody
// who waits for a change. Everything the fakes do goes through it, so a
// single lock and a single broadcast channel keep them consistent.
type broker struct {
	mu      sync.Mutex
	topics  map[string][]*message
	commits map[string]map[string]int64 // group -> topic -> next offset
	changed chan struct{}
}

func newBroker() *broker {
	return &broker{
		topics:  make(map[string][]*message),
		commits: make(map[string]map[string]int64),
		changed: make(chan struct{}),
	}
}

// notifyLocked wakes every waiter. Called with mu held.
func (b *broker) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// notify wakes every waiter.
func (b *broker) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notifyLocked()
}

// watch returns a channel closed at the next change.
func (b *broker) watch() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

// ensure makes topic exist, empty when it is new.
func (b *broker) ensure(topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.topics[topic]; !ok {
		b.topics[topic] = nil
	}
}

// append adds a message to a topic and returns its offset.
func (b *broker) append(topic string, m *message) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.topics[topic] = append(b.topics[topic], m)
	b.notifyLocked()
	return int64(len(b.topics[topic]) - 1)
}

// hwm returns the offset the next message of topic will get.
func (b *broker) hwm(topic string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int64(len(b.topics[topic]))
}

// at returns the message at offset, or nil when there is none yet.
func (b *broker) at(topic string, offset int64) *message {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.topics[topic]
	if offset < 0 || offset >= int64(len(q)) {
		return nil
	}
	return q[offset]
}

// commit records the next offset a group will read from a topic.
func (b *broker) commit(group, topic string, offset int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	offs, ok := b.commits[group]
	if !ok {
		offs = make(map[string]int64)
		b.commits[group] = offs
	}
	if offset > offs[topic] {
		offs[topic] = offset
	}
	b.notifyLocked()
}

// committed returns the next offset group reads from topic; 0 when it never
// committed.
func (b *broker) committed(group, topic string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.commits[group][topic]
}

// consumerMessage builds what a sarama consumer delivers for offset.
func consumerMessage(topic string, offset int64, m *message) *sarama.ConsumerMessage {
	return &sarama.ConsumerMessage{
		Topic:     topic,
		Partition: 0,
		Offset:    offset,
		Key:       []byte(m.key),
		Value:     m.value,
		Headers:   m.headers,
		Timestamp: m.timestamp,
	}
}

// deliver sends the messages of topic from offset on to out, waiting for
// new ones as they are appended, until ctx ends. Consumer group claims and
// partition consumers both read a queue this way.
func (b *broker) deliver(ctx context.Context, topic string, offset int64, out chan<- *sarama.ConsumerMessage) {
	for {
		changed := b.watch()
		m := b.at(topic, offset)
		if m == nil {
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return
			}
		}
		select {
		case out <- consumerMessage(topic, offset, m):
			offset++
		case <-ctx.Done():
			return
		}
	}
}
