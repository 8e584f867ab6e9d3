package tester

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/IBM/sarama"
)

// consumerGroup is the sarama.ConsumerGroup of one processor: every Consume
// is a session that claims partition 0 of every topic, from the group's
// committed offset on.
type consumerGroup struct {
	tt       *Tester
	group    string
	clientID string
	errs     chan error

	mu     sync.Mutex
	closed bool
}

var _ sarama.ConsumerGroup = (*consumerGroup)(nil)

func (cg *consumerGroup) Consume(ctx context.Context, topics []string, handler sarama.ConsumerGroupHandler) error {
	cg.mu.Lock()
	closed := cg.closed
	cg.mu.Unlock()
	if closed {
		return sarama.ErrClosedConsumerGroup
	}
	if len(topics) == 0 {
		return errors.New("tester: consume without topics")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sess := &session{cg: cg, ctx: ctx, claims: make(map[string][]int32, len(topics))}
	for _, t := range topics {
		cg.tt.broker.ensure(t)
		sess.claims[t] = []int32{0}
	}
	if err := handler.Setup(sess); err != nil {
		return errors.Join(err, handler.Cleanup(sess))
	}
	cg.tt.sessionStarted(cg.clientID, cg.group, topics)
	defer cg.tt.sessionEnded(cg.clientID)

	sorted := append([]string(nil), topics...)
	sort.Strings(sorted)
	var wg sync.WaitGroup
	for _, topic := range sorted {
		claim := &claim{
			topic:    topic,
			initial:  cg.tt.broker.committed(cg.group, topic),
			messages: make(chan *sarama.ConsumerMessage),
			tt:       cg.tt,
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			claim.deliver(ctx)
		}()
		go func() {
			defer wg.Done()
			// A claim that stops ends the session, as in sarama.
			defer cancel()
			if err := handler.ConsumeClaim(sess, claim); err != nil {
				cg.sendError(err)
			}
		}()
	}
	wg.Wait()
	return handler.Cleanup(sess)
}

func (cg *consumerGroup) sendError(err error) {
	cg.mu.Lock()
	defer cg.mu.Unlock()
	if cg.closed {
		return
	}
	select {
	case cg.errs <- err:
	default:
	}
}

func (cg *consumerGroup) Errors() <-chan error { return cg.errs }

func (cg *consumerGroup) Close() error {
	cg.mu.Lock()
	defer cg.mu.Unlock()
	if !cg.closed {
		cg.closed = true
		close(cg.errs)
	}
	return nil
}

func (cg *consumerGroup) Pause(map[string][]int32)  {}
func (cg *consumerGroup) Resume(map[string][]int32) {}
func (cg *consumerGroup) PauseAll()                 {}
func (cg *consumerGroup) ResumeAll()                {}

// session is a consumer group session; marking an offset commits it at once.
type session struct {
	cg     *consumerGroup
	ctx    context.Context
	claims map[string][]int32
}

func (s *session) Claims() map[string][]int32 { return s.claims }
func (s *session) MemberID() string           { return s.cg.clientID }
func (s *session) GenerationID() int32        { return 1 }
func (s *session) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	s.cg.tt.broker.commit(s.cg.group, topic, offset)
}
func (s *session) Commit() {}
func (s *session) ResetOffset(topic string, partition int32, offset int64, metadata string) {
	s.cg.tt.broker.commit(s.cg.group, topic, offset)
}
func (s *session) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}
func (s *session) Context() context.Context { return s.ctx }

// claim delivers one topic's queue to the session from its initial offset.
type claim struct {
	tt       *Tester
	topic    string
	initial  int64
	messages chan *sarama.ConsumerMessage
}

func (c *claim) Topic() string              { return c.topic }
func (c *claim) Partition() int32           { return 0 }
func (c *claim) InitialOffset() int64       { return c.initial }
func (c *claim) HighWaterMarkOffset() int64 { return c.tt.broker.hwm(c.topic) }
func (c *claim) Messages() <-chan *sarama.ConsumerMessage {
	return c.messages
}

func (c *claim) deliver(ctx context.Context) {
	defer close(c.messages)
	c.tt.broker.deliver(ctx, c.topic, c.initial, c.messages)
}
