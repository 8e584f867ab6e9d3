package goka

import (
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// Producer sends messages to Kafka asynchronously. Each send returns a
// Promise that finishes when Kafka has acknowledged or refused the message.
// The processor and the emitter send through a Producer; tests replace it
// through a ProducerBuilder.
type Producer interface {
	// Emit sends value under key to topic. A nil value is a tombstone.
	Emit(topic string, key string, value []byte) *Promise
	// EmitWithHeaders is Emit with record headers; nil headers send none.
	EmitWithHeaders(topic string, key string, value []byte, headers Headers) *Promise
	// Close flushes the messages sent so far, finishes their promises and
	// releases the connections.
	Close() error
}

// errProducerClosed finishes the promise of a message sent after Close.
var errProducerClosed = errors.New("producer closed")

// errProducerReturns rejects a configuration the producer would hang with:
// promises are finished from the Successes and Errors channels, so without
// them a promise would never finish.
var errProducerReturns = errors.New("Producer.Return.Successes and Producer.Return.Errors must both be true")

// NewProducer returns a Producer on a sarama AsyncProducer built from config.
// The config must have Producer.Return.Successes and Producer.Return.Errors
// set, RequiredAcks other than NoResponse, and, with Producer.Idempotent, the
// settings sarama requires for it, as DefaultConfig has. Messages carry no
// timestamp of their own, so sarama stamps them with the time they are sent,
// as goka does.
func NewProducer(brokers []string, config *sarama.Config) (Producer, error) {
	if config == nil {
		return nil, fmt.Errorf("creating producer: %w", errNilConfig)
	}
	if err := checkDeliveryConfig(config); err != nil {
		return nil, fmt.Errorf("creating producer: %w", err)
	}
	async, err := sarama.NewAsyncProducer(brokers, config)
	if err != nil {
		return nil, fmt.Errorf("creating producer for brokers %v: %w", brokers, err)
	}
	p := &producer{async: async}
	p.settlers.Add(2)
	go p.settleSuccesses()
	go p.settleErrors()
	return p, nil
}

type producer struct {
	async sarama.AsyncProducer

	// mu makes closing exclusive with sending: sarama's input channel must
	// not be written once AsyncClose ran, and Emit holds the read lock
	// while it writes.
	mu        sync.RWMutex
	isClosing bool

	settlers sync.WaitGroup
	// The first error of a message refused after Close began, and how many
	// were refused: all of them may be thousands. Only settleErrors writes
	// them; Close reads them after the settlers ended.
	firstCloseErr error
	closeErrCount int

	closeOnce sync.Once
	closeErr  error
}

func (p *producer) Emit(topic string, key string, value []byte) *Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *producer) EmitWithHeaders(topic string, key string, value []byte, headers Headers) *Promise {
	// Message and promise share one allocation: this runs for every
	// message.
	env := &envelope{msg: sarama.ProducerMessage{
		Topic:   topic,
		Key:     sarama.StringEncoder(key),
		Headers: headers.ToSarama(),
	}}
	if value != nil {
		env.msg.Value = sarama.ByteEncoder(value)
	}
	env.msg.Metadata = &env.promise

	p.mu.RLock()
	if p.isClosing {
		p.mu.RUnlock()
		return env.promise.finish(&env.msg, fmt.Errorf("emitting to topic %s: %w", topic, errProducerClosed))
	}
	p.async.Input() <- &env.msg
	p.mu.RUnlock()
	return &env.promise
}

// envelope is a message with its promise.
type envelope struct {
	msg     sarama.ProducerMessage
	promise Promise
}

func (p *producer) settleSuccesses() {
	defer p.settlers.Done()
	for msg := range p.async.Successes() {
		if promise, ok := msg.Metadata.(*Promise); ok {
			promise.finish(msg, nil)
		}
	}
}

func (p *producer) settleErrors() {
	defer p.settlers.Done()
	for perr := range p.async.Errors() {
		if perr == nil || perr.Msg == nil {
			continue
		}
		// The *ProducerError names the topic and unwraps to the Kafka error,
		// so callers can match sarama's sentinels with errors.Is.
		var err error = perr
		if promise, ok := perr.Msg.Metadata.(*Promise); ok {
			promise.finish(perr.Msg, err)
		}
		if p.closing() {
			if p.closeErrCount == 0 {
				p.firstCloseErr = err
			}
			p.closeErrCount++
		}
	}
}

func (p *producer) closing() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.isClosing
}

// Close stops accepting messages, waits until every message sent before has
// been acknowledged or refused and its promise finished, and returns the
// errors of the messages refused while closing. Later calls wait for the
// first and return its result (sync.Once blocks them until it is done). A message sent after Close is not sent; its
// promise finishes with an error.
func (p *producer) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.isClosing = true
		p.mu.Unlock()

		// AsyncClose flushes what is buffered and then closes Successes and
		// Errors, which ends both settlers; no timeout is needed.
		p.async.AsyncClose()
		p.settlers.Wait()
		if p.closeErrCount > 0 {
			p.closeErr = fmt.Errorf("closing producer: %d messages not delivered, the first: %w", p.closeErrCount, p.firstCloseErr)
		}
	})
	return p.closeErr
}
