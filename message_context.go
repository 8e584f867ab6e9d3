package goka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/commit"
)

// errCallbackFailed is what a Fail panics with, so the partition can tell a
// deliberate failure from any other panic.
type failure struct{ err error }

// messageContext is the Context of one callback call. It counts the
// operations the message still waits for (the callback itself, emits, table
// writes, deferred commits); when the count reaches zero without error the
// message completes and its offset may be committed.
type messageContext struct {
	pp  *PartitionProcessor
	msg *sarama.ConsumerMessage // nil in a visit

	topic     Stream
	key       string
	offset    int64
	timestamp time.Time
	headers   Headers

	// pending counts unfinished operations, 1 for the running callback.
	pending atomic.Int64
	// returned is set when the callback returned; a Fail after that cannot
	// panic into the partition's goroutine any more, and writes after that
	// are sent at once instead of held. It changes under pp.heldMu.
	returned atomic.Bool
	// wroteTable is set by SetValue and Delete while the callback runs, and
	// tableValue is the row they left (nil: deleted): Value reads it, since
	// the row reaches the cache only when the callback succeeded.
	wroteTable bool
	tableValue []byte
	settled    sync.Once
	ticket     commit.Ticket
	// onDone runs once when the message completes or fails: the partition's
	// commit path, or a visit's accounting.
	onDone func(ctx *messageContext, err error)
}

var _ Context = (*messageContext)(nil)

func (c *messageContext) Topic() Stream        { return c.topic }
func (c *messageContext) Key() string          { return c.key }
func (c *messageContext) Partition() int32     { return c.pp.partition }
func (c *messageContext) Offset() int64        { return c.offset }
func (c *messageContext) Group() Group         { return c.pp.graph.Group() }
func (c *messageContext) Timestamp() time.Time { return c.timestamp }
func (c *messageContext) Context() context.Context {
	return c.pp.runCtx
}

func (c *messageContext) Headers() Headers {
	if c.headers == nil {
		if c.msg != nil {
			c.headers = HeadersFromSarama(c.msg.Headers)
		} else {
			c.headers = Headers{}
		}
	}
	return c.headers
}

func (c *messageContext) Value() interface{} {
	if c.pp.table == nil {
		c.Fail(errors.New("cannot access the group table: the processor is stateless (no Persist edge)"))
	}
	data := c.tableValue
	if !c.wroteTable {
		var err error
		if data, err = c.pp.tableRows().Get(c.key); err != nil {
			c.Fail(fmt.Errorf("reading key %q of table %s: %w", c.key, c.pp.tableTopic, err))
		}
	}
	if data == nil {
		return nil
	}
	value, err := c.pp.graph.GroupTable().Codec().Decode(data)
	if err != nil {
		c.Fail(fmt.Errorf("decoding key %q of table %s: %w", c.key, c.pp.tableTopic, err))
	}
	return value
}

func (c *messageContext) SetValue(value interface{}, options ...ContextOption) {
	if c.pp.table == nil {
		c.Fail(errors.New("cannot set a value: the processor is stateless (no Persist edge)"))
	}
	if value == nil {
		c.Fail(fmt.Errorf("cannot set nil as value of key %q: use Delete", c.key))
	}
	data, err := c.pp.graph.GroupTable().Codec().Encode(value)
	if err != nil {
		c.Fail(fmt.Errorf("encoding value of key %q for table %s: %w", c.key, c.pp.tableTopic, err))
	}
	// A codec that encodes to nil makes this a deletion, as the record
	// sent is then a tombstone.
	c.holdTable(data, options)
}

func (c *messageContext) Delete(options ...ContextOption) {
	if c.pp.table == nil {
		c.Fail(errors.New("cannot delete a value: the processor is stateless (no Persist edge)"))
	}
	c.holdTable(nil, options)
}

// holdTable records a table write (nil data: a deletion) to be applied to the
// local table and sent when the callback returns. After the callback
// returned (a goroutine it started) it is applied and sent at once.
func (c *messageContext) holdTable(data []byte, options []ContextOption) {
	headers := collectOptions(options).emitHeaders
	if c.hold(heldWrite{topic: c.pp.tableTopic, key: c.key, data: data, headers: headers, table: true}) {
		return
	}
	if err := c.applyTable(data); err != nil {
		c.Fail(err)
	}
	c.writeTable(data, headers)
}

// applyTable writes the row to the local table. A failed write leaves the
// store unlike the topic: it is then kept marked dirty, and rebuilt from the
// topic at the next start.
func (c *messageContext) applyTable(data []byte) error {
	rows := c.pp.tableRows()
	var err error
	if data == nil {
		err = rows.Delete(c.key)
	} else {
		err = rows.Set(c.key, data)
	}
	if err != nil {
		c.pp.tableWriteFailed.Store(true)
		return fmt.Errorf("writing key %q to the local table %s: %w", c.key, c.pp.tableTopic, err)
	}
	return nil
}

// writeTable sends the new value (nil for a tombstone) to the group table
// topic. Table writes carry only the call's headers, as in goka.
func (c *messageContext) writeTable(data []byte, headers Headers) {
	c.pending.Add(1)
	c.pp.countOutput(c.pp.tableTopic, len(data))
	c.pp.producer.EmitWithHeaders(c.pp.tableTopic, c.key, data, headers).
		ThenWithMessage(func(msg *sarama.ProducerMessage, err error) {
			c.finish(c.pp.settleTableWrite(c.key, msg, err))
		})
}

func (c *messageContext) Join(topic Table) interface{} {
	jt, ok := c.pp.joins[string(topic)]
	if !ok {
		c.Fail(fmt.Errorf("table %q is not joined by group %q: add a Join edge", topic, c.pp.graph.Group()))
	}
	data, err := jt.Storage().Get(c.key)
	if err != nil {
		c.Fail(fmt.Errorf("reading key %q of joined table %s: %w", c.key, topic, err))
	}
	if data == nil {
		return nil
	}
	value, err := c.pp.graph.codecOf(string(topic)).Decode(data)
	if err != nil {
		c.Fail(fmt.Errorf("decoding key %q of joined table %s: %w", c.key, topic, err))
	}
	return value
}

func (c *messageContext) Lookup(topic Table, key string) interface{} {
	v, ok := c.pp.lookups[string(topic)]
	if !ok {
		c.Fail(fmt.Errorf("table %q is not looked up by group %q: add a Lookup edge", topic, c.pp.graph.Group()))
	}
	value, err := v.Get(key)
	if err != nil {
		c.Fail(fmt.Errorf("looking up key %q in table %s: %w", key, topic, err))
	}
	return value
}

func (c *messageContext) Emit(topic Stream, key string, value interface{}, options ...ContextOption) {
	switch {
	case topic == "":
		c.Fail(errors.New("cannot emit to an empty topic"))
	case c.pp.loopTopic != "" && string(topic) == c.pp.loopTopic:
		c.Fail(fmt.Errorf("cannot emit to the loop topic %q: use Loopback", topic))
	case c.pp.tableTopic != "" && string(topic) == c.pp.tableTopic:
		c.Fail(fmt.Errorf("cannot emit to the group table %q: use SetValue", topic))
	}
	codec, ok := c.pp.outputs[string(topic)]
	if !ok {
		c.Fail(fmt.Errorf("topic %q is not an output of group %q: add an Output edge", topic, c.pp.graph.Group()))
	}
	var data []byte
	if value != nil {
		var err error
		if data, err = codec.Encode(value); err != nil {
			c.Fail(fmt.Errorf("encoding message with key %q for topic %s: %w", key, topic, err))
		}
	}
	c.send(string(topic), key, data, options)
}

func (c *messageContext) Loopback(key string, value interface{}, options ...ContextOption) {
	loop := c.pp.graph.LoopStream()
	if loop == nil {
		c.Fail(fmt.Errorf("group %q has no loop: add a Loop edge to use Loopback", c.pp.graph.Group()))
	}
	data, err := loop.Codec().Encode(value)
	if err != nil {
		c.Fail(fmt.Errorf("encoding loopback message with key %q: %w", key, err))
	}
	c.send(c.pp.loopTopic, key, data, options)
}

// send holds an emit or loopback, with the processor's default headers,
// until the callback returns; after that it sends at once.
func (c *messageContext) send(topic, key string, data []byte, options []ContextOption) {
	opts := collectOptions(options)
	headers := c.pp.defaultHeaders.Merged(opts.emitHeaders)
	if c.hold(heldWrite{topic: topic, key: key, data: data, headers: headers}) {
		return
	}
	c.produce(topic, key, data, headers)
}

// produce sends an emit or loopback.
func (c *messageContext) produce(topic, key string, data []byte, headers Headers) {
	c.pending.Add(1)
	c.pp.countOutput(topic, len(data))
	c.pp.producer.EmitWithHeaders(topic, key, data, headers).Then(func(err error) {
		c.finish(wrapEmitError(err, topic, key))
	})
}

func (c *messageContext) Fail(err error) {
	if err == nil {
		err = errors.New("Fail called with a nil error")
	}
	if c.returned.Load() {
		// The callback is over (Fail from a goroutine it started): panicking
		// here would crash the program, so fail the message instead.
		c.finish(err)
		return
	}
	panic(failure{err: err})
}

func (c *messageContext) DeferCommit() func(error) {
	c.pending.Add(1)
	forget := c.pp.deferred.Add(commit.Deferred{Topic: string(c.topic), Partition: c.pp.partition, Offset: c.offset, Key: c.key})
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			forget()
			if err != nil {
				err = fmt.Errorf("deferred commit released with an error: %w", err)
			}
			c.finish(err)
		})
	}
}

// finish ends one pending operation. The first error settles the message as
// failed; reaching zero settles it as completed.
func (c *messageContext) finish(err error) {
	if err != nil {
		c.settled.Do(func() { c.onDone(c, err) })
		return
	}
	if c.pending.Add(-1) == 0 {
		c.settled.Do(func() { c.onDone(c, nil) })
	}
}

func collectOptions(options []ContextOption) ctxOptions {
	var opts ctxOptions
	for _, opt := range options {
		opt(&opts)
	}
	return opts
}

func wrapEmitError(err error, topic, key string) error {
	if err == nil {
		return nil
	}
	return emitError{fmt.Errorf("producing message with key %q to topic %s: %w", key, topic, err)}
}

// emitError marks an error as Kafka refusing a message the callback sent,
// so the errors metric can tell it from a failing callback.
type emitError struct{ error }

func (e emitError) Unwrap() error { return e.error }
