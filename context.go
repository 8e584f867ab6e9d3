package goka

import (
	"context"
	"time"
)

// Context is what a callback gets with each message: the message's metadata,
// the key's row of the group table, and the ways to act on them. It is valid
// only while the callback runs, except Context(), which may be handed to
// goroutines. Misuse (emitting to an undeclared topic, writing a nil value,
// reading a table the graph does not declare) fails the message: the
// processor stops with an error that names the message, and nothing is
// committed past it.
//
// SetValue, Delete, Emit and Loopback take effect when the callback returns
// without failing, in the order they were called; a callback that fails
// (Fail, a panic, misuse) leaves none of them, neither in Kafka nor in the
// local table. Value reads what SetValue or Delete set before, in the same
// callback.
type Context interface {
	// Topic is the topic of the message, or the visitor's name in a visit.
	Topic() Stream
	// Key is the message key, which is also the row of the group table the
	// callback owns.
	Key() string
	// Partition is the partition of the message.
	Partition() int32
	// Offset is the offset of the message; 0 in a visit.
	Offset() int64
	// Group is the processor's group.
	Group() Group
	// Timestamp is the Kafka timestamp of the message; now in a visit.
	Timestamp() time.Time
	// Headers are the message's headers. Never nil. They are not forwarded to
	// what the callback emits.
	Headers() Headers

	// Value returns the key's value in the group table, or nil.
	Value() interface{}
	// SetValue writes the key's value to the local table and to the group
	// table topic; the message is committed only once Kafka acknowledged it.
	SetValue(value interface{}, options ...ContextOption)
	// Delete removes the key from the local table and writes a tombstone to
	// the group table topic.
	Delete(options ...ContextOption)

	// Join returns the key's value in a joined table, or nil.
	Join(topic Table) interface{}
	// Lookup returns any key's value in a looked-up table, or nil.
	Lookup(topic Table, key string) interface{}

	// Emit sends a message to an Output stream. A nil value is a tombstone.
	Emit(topic Stream, key string, value interface{}, options ...ContextOption)
	// Loopback sends a message to the group's loop stream; it is processed
	// by the Loop callback in the partition of key.
	Loopback(key string, value interface{}, options ...ContextOption)

	// Fail stops the callback and the processor with err. The message is not
	// committed, and nothing the callback wrote is sent.
	Fail(err error)

	// Context is cancelled when the partition stops (rebalance, shutdown or
	// a failure).
	Context() context.Context

	// DeferCommit holds the message's commit until the returned function is
	// called: with nil to release it, with an error to fail the processor.
	DeferCommit() func(error)
}

// ContextOption changes how Emit, Loopback, SetValue and Delete send.
type ContextOption func(*ctxOptions)

type ctxOptions struct {
	emitHeaders Headers
}

// WithCtxEmitHeaders adds headers to the message being sent. Used several
// times, the headers accumulate, later keys winning.
func WithCtxEmitHeaders(headers Headers) ContextOption {
	return func(o *ctxOptions) {
		o.emitHeaders = o.emitHeaders.Merged(headers)
	}
}
