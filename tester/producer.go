package tester

import (
	"errors"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
)

var errProducerClosed = errors.New("tester: producer closed")

// producer appends to the in-memory queues. Its promises are settled before
// Emit returns, with the offset the message got, as a broker's ack would.
type producer struct {
	tt     *Tester
	mu     sync.Mutex
	closed bool
}

func (p *producer) Emit(topic string, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *producer) EmitWithHeaders(topic string, key string, value []byte, headers goka.Headers) *goka.Promise {
	_, finish := goka.NewPromiseWithFinisher()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Headers: headers.ToSarama()}
	if value != nil {
		msg.Value = sarama.ByteEncoder(value)
	}
	if closed {
		return finish(msg, errProducerClosed)
	}
	msg.Offset = p.tt.broker.append(topic, &message{
		key:       key,
		value:     value,
		headers:   headers.ToSaramaPtr(),
		timestamp: time.Time{},
	})
	return finish(msg, nil)
}

func (p *producer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}
