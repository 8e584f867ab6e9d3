package engine

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

// Message is one callback call: a message of the partition's input or loop,
// or one key of a visit. It counts the operations the message still waits
// for (the callback itself, emits, table writes, deferred commits); when the
// count reaches zero without error the message completes and its offset may
// be committed. The API's Context is this type seen through its methods.
type Message struct {
	p       *Partition
	msg     *sarama.ConsumerMessage // nil in a visit
	visit   *visitRequest           // nil for a message
	tracker *commit.Tracker         // nil in a visit

	topic     string
	key       string
	offset    int64
	timestamp time.Time
	headers   map[string][]byte // converted from msg on first use

	// pending counts unfinished operations, 1 for the running callback.
	pending atomic.Int64
	// returned is set when the callback returned; a Fail after that cannot
	// panic into the partition's goroutine any more, and writes after that
	// are sent at once instead of held. It changes under p.heldMu.
	returned atomic.Bool
	// wroteTable is set by WriteTable while the callback runs, and
	// tableValue is the row it left (nil: deleted): TableGet reads it,
	// since the row reaches the cache only when the callback succeeded.
	wroteTable bool
	tableValue []byte
	settled    atomic.Bool
	// dropped is set when the callback failed (or was abandoned): a write
	// after that, from a goroutine it started, is dropped like the writes
	// it held.
	dropped atomic.Bool
	ticket  commit.Ticket
}

// abort is what Fail panics with, so the partition can tell a deliberate
// failure from any other panic.
type abort struct{ err error }

// Topic returns the message's topic, or the visitor's name in a visit.
func (m *Message) Topic() string { return m.topic }

// Key returns the message's key.
func (m *Message) Key() string { return m.key }

// Partition returns the partition's number.
func (m *Message) Partition() int32 { return m.p.partition }

// Offset returns the message's offset; 0 in a visit.
func (m *Message) Offset() int64 { return m.offset }

// Timestamp returns the message's timestamp; the visit's start in a visit.
func (m *Message) Timestamp() time.Time { return m.timestamp }

// Group returns the consumer group's name.
func (m *Message) Group() string { return m.p.plan.Group }

// Env returns the API layer's compiled graph (Plan.Env).
func (m *Message) Env() any { return m.p.plan.Env }

// Context ends when the partition stops or fails.
func (m *Message) Context() context.Context { return m.p.ctx }

// Headers returns the message's headers (none in a visit); the last value of
// a repeated key wins.
func (m *Message) Headers() map[string][]byte {
	if m.headers == nil {
		m.headers = make(map[string][]byte)
		if m.msg != nil {
			for _, rh := range m.msg.Headers {
				if rh != nil {
					m.headers[string(rh.Key)] = rh.Value
				}
			}
		}
	}
	return m.headers
}

// TableGet returns the group table's row of the message's key as the
// callback sees it: what it wrote itself, else the stored row. The group
// must be stateful.
func (m *Message) TableGet() ([]byte, error) {
	if m.wroteTable {
		return m.tableValue, nil
	}
	data, err := m.p.TableRows().Get(m.key)
	if err != nil {
		return nil, fmt.Errorf("reading key %q of table %s: %w", m.key, m.p.plan.Table, err)
	}
	return data, nil
}

// JoinGet returns the row of the message's key in a joined table; ok is
// false when the group does not join topic.
func (m *Message) JoinGet(topic string) (data []byte, ok bool, err error) {
	jt, ok := m.p.joins[topic]
	if !ok {
		return nil, false, nil
	}
	data, err = jt.Storage().Get(m.key)
	if err != nil {
		return nil, true, fmt.Errorf("reading key %q of joined table %s: %w", m.key, topic, err)
	}
	return data, true, nil
}

// WriteTable records a group table write of the message's key (nil data: a
// deletion) to be applied to the local table and sent when the callback
// returns. After the callback returned (a goroutine it started) it is
// applied and sent at once. The group must be stateful.
func (m *Message) WriteTable(data []byte, headers map[string][]byte) {
	if m.hold(heldWrite{topic: m.p.plan.Table, key: m.key, data: data, headers: headers, table: true}) || m.dropped.Load() {
		return
	}
	if m.p.cfg.Txn != nil {
		m.Fail(ErrLateWriteExactlyOnce)
		return
	}
	if err := m.applyTable(data); err != nil {
		m.Fail(err)
	}
	m.writeTable(data, headers)
}

// applyTable writes the row to the local table. A failed write leaves the
// store unlike the topic: it is then kept marked dirty, and rebuilt from the
// topic at the next start.
func (m *Message) applyTable(data []byte) error {
	rows := m.p.TableRows()
	var err error
	if data == nil {
		err = rows.Delete(m.key)
	} else {
		err = rows.Set(m.key, data)
	}
	if err != nil {
		m.p.tableWriteFailed.Store(true)
		return fmt.Errorf("writing key %q to the local table %s: %w", m.key, m.p.plan.Table, err)
	}
	return nil
}

// writeTable sends the new value (nil for a tombstone) to the group table
// topic.
func (m *Message) writeTable(data []byte, headers map[string][]byte) {
	m.pending.Add(1)
	p := m.p
	p.countOutput(p.plan.Table, len(data))
	p.cfg.Producer.Send(p.plan.Table, m.key, data, headers, func(written *sarama.ProducerMessage, err error) {
		m.finish(p.settleTableWrite(m.key, written, err))
	})
}

// Send holds an emit or loopback until the callback returns; after that it
// sends at once. The API layer checked the topic and encoded the value.
func (m *Message) Send(topic, key string, data []byte, headers map[string][]byte) {
	if m.hold(heldWrite{topic: topic, key: key, data: data, headers: headers}) || m.dropped.Load() {
		return
	}
	if m.p.cfg.Txn != nil {
		m.Fail(ErrLateWriteExactlyOnce)
		return
	}
	m.produce(topic, key, data, headers)
}

// produce sends an emit or loopback.
func (m *Message) produce(topic, key string, data []byte, headers map[string][]byte) {
	m.pending.Add(1)
	m.p.countOutput(topic, len(data))
	m.p.cfg.Producer.Send(topic, key, data, headers, func(_ *sarama.ProducerMessage, err error) {
		m.finish(wrapEmitError(err, topic, key))
	})
}

// Fail fails the message: in the callback it ends the callback (a panic the
// partition recovers); after the callback returned (from a goroutine it
// started) it settles the message as failed.
func (m *Message) Fail(err error) {
	if err == nil {
		err = errors.New("Fail called with a nil error")
	}
	if m.returned.Load() {
		// The callback is over: panicking here would crash the program.
		m.finish(err)
		return
	}
	panic(abort{err: err})
}

// DeferCommit holds the message's commit until the returned function is
// called; calling it with an error fails the message.
func (m *Message) DeferCommit() func(error) {
	if m.p.cfg.Txn != nil {
		m.Fail(ErrDeferCommitExactlyOnce)
	}
	m.pending.Add(1)
	forget := m.p.deferred.Add(commit.Deferred{Topic: m.topic, Partition: m.p.partition, Offset: m.offset, Key: m.key})
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			forget()
			if err != nil {
				err = fmt.Errorf("deferred commit released with an error: %w", err)
			}
			m.finish(err)
		})
	}
}

// finish ends one pending operation. The first error settles the message as
// failed; reaching zero settles it as completed.
func (m *Message) finish(err error) {
	if err != nil {
		if m.settled.CompareAndSwap(false, true) {
			m.p.settle(m, err)
		}
		return
	}
	if m.pending.Add(-1) == 0 && m.settled.CompareAndSwap(false, true) {
		m.p.settle(m, nil)
	}
}
