package goka

import (
	"sync"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/engine"
)

// Promise is the outcome of an asynchronous send: it finishes once Kafka has
// acknowledged or refused the message. Callbacks registered with Then or
// ThenWithMessage before it finishes run when it finishes, in the order they
// were registered; callbacks registered afterwards run at once, in the
// caller's goroutine. A promise finishes once; later finishes are ignored.
//
// Unlike goka, callbacks run without the promise's lock held, so a callback
// may itself call Then on the same promise. A callback registered while the
// earlier ones are still running may therefore run before they end.
//
// The lock is embedded, as in goka, whose Promise exports Lock, Unlock and
// TryLock that way; holding it from outside delays Then and the finish of
// the send, so no program should.
//
// The zero value is an unfinished promise ready to use.
type Promise struct {
	sync.Mutex
	finished bool
	msg      *sarama.ProducerMessage
	err      error
	// first holds the first callback inline: almost every promise gets
	// exactly one (the one that acknowledges the message), and a promise is
	// made per produced message, so that case costs no slice.
	first promiseCallback
	more  []promiseCallback
}

// PromiseFinisher finishes the promise it belongs to with the message and
// error of the send, and returns the promise. Implementations of Producer
// outside this package, such as test doubles, use it.
type PromiseFinisher func(msg *sarama.ProducerMessage, err error) *Promise

// promiseCallback is one registered callback in whichever of the two forms
// it was given, kept unconverted so registering allocates no closure.
type promiseCallback struct {
	withErr func(err error)
	withMsg func(msg *sarama.ProducerMessage, err error)
}

func (c promiseCallback) empty() bool {
	return c.withErr == nil && c.withMsg == nil
}

func (c promiseCallback) run(msg *sarama.ProducerMessage, err error) {
	switch {
	case c.withMsg != nil:
		c.withMsg(msg, err)
	case c.withErr != nil:
		c.withErr(err)
	}
}

// NewPromise returns an unfinished promise.
func NewPromise() *Promise {
	return &Promise{}
}

// NewPromiseWithFinisher returns an unfinished promise and the function that
// finishes it.
func NewPromiseWithFinisher() (*Promise, PromiseFinisher) {
	p := &Promise{}
	return p, p.finish
}

// Then registers a callback that receives the error of the send, nil on
// success. A nil callback is ignored.
func (p *Promise) Then(callback func(err error)) *Promise {
	if callback == nil {
		return p
	}
	return p.then(promiseCallback{withErr: callback})
}

// ThenWithMessage registers a callback that also receives the message as
// Kafka acknowledged it, with the partition and offset it was written to.
// A nil callback is ignored.
func (p *Promise) ThenWithMessage(callback func(msg *sarama.ProducerMessage, err error)) *Promise {
	if callback == nil {
		return p
	}
	return p.then(promiseCallback{withMsg: callback})
}

func (p *Promise) then(cb promiseCallback) *Promise {
	p.Lock()
	if p.finished {
		msg, err := p.msg, p.err
		p.Unlock()
		cb.run(msg, err)
		return p
	}
	if p.first.empty() {
		p.first = cb
	} else {
		p.more = append(p.more, cb)
	}
	p.Unlock()
	return p
}

// finish settles the promise and runs the callbacks registered so far. Only
// the first call has an effect.
func (p *Promise) finish(msg *sarama.ProducerMessage, err error) *Promise {
	p.Lock()
	if p.finished {
		p.Unlock()
		return p
	}
	p.finished = true
	p.msg, p.err = msg, err
	first, more := p.first, p.more
	// Drop the references so callbacks and what they capture can be
	// collected while the promise itself is still referenced.
	p.first, p.more = promiseCallback{}, nil
	p.Unlock()

	first.runGuarded(msg, err)
	for _, cb := range more {
		cb.runGuarded(msg, err)
	}
	return p
}

// runGuarded runs a callback at the finish of a send, which happens in the
// producer's goroutine: a panic there would end the process, so it is
// logged, with the callback's stack, and the next callback runs. (A
// callback registered after the finish runs in its caller's goroutine and
// panics there, as any call does.)
func (c promiseCallback) runGuarded(msg *sarama.ProducerMessage, err error) {
	if c.empty() {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			topic := ""
			if msg != nil {
				topic = msg.Topic
			}
			defaultLogger.Printf("a promise callback panicked (topic %q): %v\n%s", topic, r, engine.UserStack())
		}
	}()
	c.run(msg, err)
}
