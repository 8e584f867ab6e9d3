package engine

import (
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
)

// ErrorPolicy says what a partition does with a message whose decoding or
// callback failed (see Partition.process); the API compiles it from its
// options. The zero value stops the partition, the default.
type ErrorPolicy struct {
	// Retries is how many more times the message is decoded and its
	// callback called after its first failure.
	Retries int
	// Backoff is the wait before retry n (1 for the first); nil without
	// retries.
	Backoff func(retry int) time.Duration
	// Then is what happens once the retries failed too.
	Then FailAction
	// DeadLetterTopic is where ActionDeadLetter writes the message.
	DeadLetterTopic string
}

// FailAction is what a partition does with a message it gave up on.
type FailAction int

const (
	// ActionStop fails the partition with the message uncommitted.
	ActionStop FailAction = iota
	// ActionSkip logs and counts the message and commits past it.
	ActionSkip
	// ActionDeadLetter writes the message to the dead-letter topic and
	// commits past it once Kafka acknowledged that write.
	ActionDeadLetter
)

// The headers a dead letter carries beside the message's own.
const (
	DeadLetterHeaderError     = "goka-dlq-error"
	DeadLetterHeaderTopic     = "goka-dlq-topic"
	DeadLetterHeaderPartition = "goka-dlq-partition"
	DeadLetterHeaderOffset    = "goka-dlq-offset"
	DeadLetterHeaderTime      = "goka-dlq-time"
	DeadLetterHeaderGroup     = "goka-dlq-group"
	DeadLetterHeaderAttempts  = "goka-dlq-attempts"
)

// retry calls the callback of a message whose attempt m failed with err
// again, as often as its route's policy allows, after each wait, and
// returns the last attempt and its error. It returns a nil Message when the
// partition stopped during a wait. The partition processes nothing else
// meanwhile: the messages after this one keep their order.
func (p *Partition) retry(m *Message, route *Route, err error) (*Message, error) {
	policy := &route.Policy
	for n := 1; n <= policy.Retries; n++ {
		wait := policy.Backoff(n)
		p.log.Printf("message (topic=%s, partition=%d, offset=%d, key=%q) failed, retry %d of %d in %s: %v",
			m.topic, p.partition, m.offset, m.key, n, policy.Retries, wait, err)
		if !p.sleep(wait) {
			return nil, err
		}
		p.countPolicy(m.topic, policyRetried)
		// A goroutine of the failed attempt that calls Fail later changes
		// nothing: the message is the next attempt's now.
		m.settled.Store(true)
		if m, err = p.attempt(m.msg, m.tracker, m.ticket, route); err == nil {
			return m, nil
		}
	}
	return m, err
}

// sleep waits for d and reports true, or reports false as soon as the
// partition stops.
func (p *Partition) sleep(d time.Duration) bool {
	if d <= 0 {
		return p.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// giveUp ends a message whose last attempt m failed with err, as policy
// says: it fails the partition (returning the error run stops with), or
// skips the message, or writes its dead letter, and returns nil.
func (p *Partition) giveUp(m *Message, policy *ErrorPolicy, err error) error {
	attempts := policy.Retries + 1
	if policy.Then != ActionStop && p.ctx.Err() != nil {
		// The partition stops (and the stop may have given up on this
		// callback already): the failure may be the stop's own doing, a
		// callback whose Context ended. The message stays uncommitted and
		// its next owner processes it again, rather than skip or
		// dead-letter a message that did nothing wrong.
		p.log.Printf("message (topic=%s, partition=%d, offset=%d, key=%q) failed while the partition stops, left uncommitted: %v",
			m.topic, p.partition, m.offset, m.key, err)
		m.settled.Store(true)
		p.inflight.done()
		p.leftUncommitted = true
		return nil
	}
	if policy.Then != ActionStop {
		m = m.successor()
	}
	switch policy.Then {
	case ActionSkip:
		p.log.Printf("skipping message (topic=%s, partition=%d, offset=%d, key=%q) after %d attempt(s): %v",
			m.topic, p.partition, m.offset, m.key, attempts, err)
		p.countPolicy(m.topic, policySkipped)
		m.finish(nil)
		return nil
	case ActionDeadLetter:
		p.deadLetter(m, policy.DeadLetterTopic, attempts, err)
		return nil
	}
	m.finish(err)
	return p.messageError(m.msg, err)
}

// deadLetter sends the message to topic with its key, value and headers and
// the headers that say why it failed. The message completes with Kafka's
// acknowledgement (the count its callback started at is the dead letter's
// now), so its offset is committed only once the dead letter is written;
// a refused dead letter fails the partition with the message uncommitted.
//
// Under exactly-once processing the send is inside the transaction gate
// (see processInTxn): the dead letter joins the instance's transaction, with
// the offset that passes the message.
func (p *Partition) deadLetter(m *Message, topic string, attempts int, cause error) {
	msg := m.msg
	headers := make(map[string][]byte, len(msg.Headers)+7)
	for _, rh := range msg.Headers {
		if rh != nil {
			headers[string(rh.Key)] = rh.Value
		}
	}
	headers[DeadLetterHeaderError] = []byte(cause.Error())
	headers[DeadLetterHeaderTopic] = []byte(msg.Topic)
	headers[DeadLetterHeaderPartition] = strconv.AppendInt(nil, int64(msg.Partition), 10)
	headers[DeadLetterHeaderOffset] = strconv.AppendInt(nil, msg.Offset, 10)
	headers[DeadLetterHeaderTime] = []byte(time.Now().UTC().Format(time.RFC3339Nano))
	headers[DeadLetterHeaderGroup] = []byte(p.plan.Group)
	headers[DeadLetterHeaderAttempts] = strconv.AppendInt(nil, int64(attempts), 10)

	p.log.Printf("dead-lettering message (topic=%s, partition=%d, offset=%d, key=%q) to %s after %d attempt(s): %v",
		m.topic, p.partition, m.offset, m.key, topic, attempts, cause)
	p.countOutput(topic, len(msg.Value))
	p.cfg.Producer.Send(topic, m.key, msg.Value, headers, func(_ *sarama.ProducerMessage, err error) {
		if err != nil {
			err = emitError{fmt.Errorf("producing the dead letter of the message to topic %s: %w (the message failed with: %v)", topic, err, cause)}
		} else {
			p.countPolicy(m.topic, policyDeadLettered)
		}
		m.finish(err)
	})
}

// policyOutcome is what an error policy did with a failed message, for the
// stats and metrics.
type policyOutcome int

const (
	policyRetried policyOutcome = iota
	policySkipped
	policyDeadLettered
)

// countPolicy counts what the error policy did with a message of an input
// topic.
func (p *Partition) countPolicy(topic string, what policyOutcome) {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	s, ok := p.inStats[topic]
	if !ok {
		s = new(InputStats)
		p.inStats[topic] = s
	}
	switch what {
	case policyRetried:
		s.Retried++
		p.metrics.Retried(topic)
	case policySkipped:
		s.Skipped++
		p.metrics.Skipped(topic)
	case policyDeadLettered:
		s.DeadLettered++
		p.metrics.DeadLettered(topic)
	}
}

// successor returns a Message that stands for a failed attempt's message
// from here on, without a callback: its completion commits the message. The
// attempt's own Message is settled, so that a goroutine its callback
// started, calling Fail or DeferCommit's release later, changes nothing.
func (m *Message) successor() *Message {
	s := &Message{
		p:         m.p,
		msg:       m.msg,
		tracker:   m.tracker,
		topic:     m.topic,
		key:       m.key,
		offset:    m.offset,
		timestamp: m.timestamp,
		ticket:    m.ticket,
	}
	s.pending.Store(1)
	s.returned.Store(true)
	m.settled.Store(true)
	return s
}
