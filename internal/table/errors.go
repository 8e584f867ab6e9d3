package table

import (
	"errors"
	"fmt"

	"github.com/seed-b2c684ed/goka/storage"
)

// ErrStoreAhead reports a local store that claims records the table topic
// does not have: its stored offset is at or beyond the topic's high-water
// mark. The topic was deleted and recreated, or the storage path belongs to
// another cluster or topic. goka only logs a warning and then serves data
// that no longer matches the topic; a partition refuses instead, because
// only deleting the local store repairs it.
var ErrStoreAhead = errors.New("table: local store is ahead of the topic")

// ErrClosed is returned, wrapped, by Open, Recover and Follow once Close has
// been called.
var ErrClosed = errors.New("table: partition closed")

// ErrBusy is returned when Recover or Follow is called while another Recover
// or Follow of the same partition is still running: exactly one goroutine
// may apply records to a store.
var ErrBusy = errors.New("table: partition busy")

// ErrConfig reports a Config that lacks something the called method needs.
var ErrConfig = errors.New("table: invalid config")

// KafkaError is a failure of the Kafka client: looking up offsets, starting
// the partition consumer or consuming. The store is intact; calling Recover
// or Follow again may succeed, which is why Retry retries exactly these
// errors.
type KafkaError struct {
	Topic     string
	Partition int32
	// Offset is where the consumer was reading, or -1 when not known.
	Offset int64
	// Op says what failed: "look up offsets", "start consumer" or "consume".
	Op  string
	Err error
}

// Error names the topic, partition, offset (when known) and cause.
func (e *KafkaError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("table: topic %q partition %d: %s: %s", e.Topic, e.Partition, e.Op, e.Err)
	}
	return fmt.Sprintf("table: topic %q partition %d offset %d: %s: %s", e.Topic, e.Partition, e.Offset, e.Op, e.Err)
}

// Unwrap returns the client's error.
func (e *KafkaError) Unwrap() error { return e.Err }

// UpdateError is an error returned by the Update function for one record.
// Nothing of the batch the record belongs to is written, so the store's
// offset stays before the record and a later attempt applies it again.
type UpdateError struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Err       error
}

// Error names the record and the cause.
func (e *UpdateError) Error() string {
	return fmt.Sprintf("table: topic %q partition %d offset %d key %q: update: %s", e.Topic, e.Partition, e.Offset, e.Key, e.Err)
}

// Unwrap returns the Update function's error.
func (e *UpdateError) Unwrap() error { return e.Err }

// Retriable reports whether err is worth retrying: only Kafka client errors
// are. A store ahead of its topic, a failing Update, a broken store or a
// closed partition fail the same way every time, and retrying them would
// only hide them behind a log line.
func Retriable(err error) bool {
	var kerr *KafkaError
	if !errors.As(err, &kerr) {
		return false
	}
	return !errors.Is(err, ErrClosed) && !errors.Is(err, storage.ErrClosed)
}
