package goka

import (
	"errors"
	"fmt"
	"sync"

	"github.com/seed-b2c684ed/goka/internal/metrics"
)

// ErrEmitterAlreadyClosed finishes the promise of an emit made after
// Emitter.Finish.
var ErrEmitterAlreadyClosed = errors.New("emitter already closed")

// Emitter writes messages to one stream from outside a processor, for
// example from an HTTP handler feeding a processor's input. Values are
// encoded with the emitter's codec and keys are placed in partitions with the
// same hash processors and views use. The topic must exist: the emitter
// never creates it.
//
// An Emitter is safe for concurrent use. Finish it to flush what was emitted
// and release its connections.
type Emitter struct {
	topic          string
	codec          Codec
	producer       Producer
	defaultHeaders Headers
	metrics        *metrics.Emitter // nil: metrics off

	// mu orders emits against Finish: an emit registers itself in pending
	// under the read lock, so once Finish has set finishing under the write
	// lock no emit can add to pending and pending.Wait sees every emit.
	mu        sync.RWMutex
	finishing bool
	pending   sync.WaitGroup
	// finished is closed when the first Finish has closed the producer.
	finished chan struct{}
	// closing is closed when the first Finish begins: from then on emits
	// are refused.
	closing chan struct{}
}

// NewEmitter returns an emitter to topic that encodes with codec. It connects
// the producer at once, so an unreachable cluster is reported here.
func NewEmitter(brokers []string, topic Stream, codec Codec, options ...EmitterOption) (*Emitter, error) {
	if topic == "" {
		return nil, errors.New("creating emitter: empty topic")
	}
	if codec == nil {
		return nil, fmt.Errorf("creating emitter for topic %s: nil codec", topic)
	}
	opts := newEmitterOptions(topic, codec, options)
	m, err := metrics.NewEmitter(opts.metrics, string(topic))
	if err != nil {
		return nil, fmt.Errorf("creating emitter for topic %s: %w", topic, err)
	}
	producer, err := opts.builders.producer(brokers, opts.clientID, guardHasher(opts.hasher))
	if err != nil {
		return nil, fmt.Errorf("creating emitter for topic %s: %w", topic, err)
	}
	return &Emitter{
		topic:          string(topic),
		codec:          codec,
		producer:       producer,
		defaultHeaders: opts.defaultHeaders,
		metrics:        m,
		finished:       make(chan struct{}),
		closing:        make(chan struct{}),
	}, nil
}

// Emit sends msg under key asynchronously; see EmitWithHeaders.
func (e *Emitter) Emit(key string, msg interface{}) (*Promise, error) {
	return e.EmitWithHeaders(key, msg, nil)
}

// EmitWithHeaders sends msg under key with the emitter's default headers and
// headers, later keys winning. A nil msg sends a tombstone (a record without
// value) and is not passed to the codec. An encode error is returned at
// once; an error of the send finishes the promise. After Finish, the
// returned promise is already finished with ErrEmitterAlreadyClosed and the
// returned error is nil, as in goka.
func (e *Emitter) EmitWithHeaders(key string, msg interface{}, headers Headers) (*Promise, error) {
	var data []byte
	if msg != nil {
		var err error
		if data, err = safeEncode(e.codec, msg); err != nil {
			e.metrics.Failed()
			return nil, fmt.Errorf("encoding value of key %q for topic %s: %w", key, e.topic, err)
		}
	}

	e.mu.RLock()
	if e.finishing {
		e.mu.RUnlock()
		return NewPromise().finish(nil, ErrEmitterAlreadyClosed), nil
	}
	e.pending.Add(1)
	e.mu.RUnlock()

	begin := e.metrics.Begin()
	var promise *Promise
	if headers == nil && e.defaultHeaders == nil {
		promise = e.producer.Emit(e.topic, key, data)
	} else {
		promise = e.producer.EmitWithHeaders(e.topic, key, data, e.defaultHeaders.Merged(headers))
	}
	if e.metrics == nil {
		return promise.Then(e.settled), nil
	}
	// Only with metrics: the closure costs an allocation per emit.
	n := len(data)
	return promise.Then(func(err error) {
		e.metrics.Done(begin, n, err)
		e.settled(err)
	}), nil
}

// settled marks one pending emit as done.
func (e *Emitter) settled(error) {
	e.pending.Done()
}

// EmitSync sends msg under key and waits until Kafka has acknowledged it; see
// EmitSyncWithHeaders.
func (e *Emitter) EmitSync(key string, msg interface{}) error {
	return e.EmitSyncWithHeaders(key, msg, nil)
}

// EmitSyncWithHeaders is EmitWithHeaders waiting for the send: it returns the
// encode error or the error Kafka answered with, nil once the message is
// acknowledged, and ErrEmitterAlreadyClosed after Finish.
func (e *Emitter) EmitSyncWithHeaders(key string, msg interface{}, headers Headers) error {
	promise, err := e.EmitWithHeaders(key, msg, headers)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var sendErr error
	promise.Then(func(err error) {
		sendErr = err
		close(done)
	})
	<-done
	return sendErr
}

// Done is closed once Finish has been called: every emit from then on is
// refused with ErrEmitterAlreadyClosed. Health checks read it to report an
// emitter that can no longer send.
func (e *Emitter) Done() <-chan struct{} { return e.closing }

// Finish stops accepting emits, waits until every emit made before has been
// acknowledged or refused, and closes the producer, returning its error.
// With the default producer, the callbacks registered on those emits'
// promises before Finish was called have run when it returns.
// Emits made afterwards finish with ErrEmitterAlreadyClosed. Calling Finish
// again waits for the first call and returns nil (goka panics).
func (e *Emitter) Finish() error {
	e.mu.Lock()
	first := !e.finishing
	e.finishing = true
	e.mu.Unlock()
	if !first {
		<-e.finished
		return nil
	}
	close(e.closing)
	defer close(e.finished)
	e.pending.Wait()
	if err := e.producer.Close(); err != nil {
		return fmt.Errorf("finishing emitter for topic %s: %w", e.topic, err)
	}
	return nil
}
