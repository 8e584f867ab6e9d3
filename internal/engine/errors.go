package engine

import (
	"errors"
	"fmt"

	"github.com/seed-b2c684ed/goka/internal/metrics"
)

// MessageError is the error a processor stops with when a message fails: its
// callback panicked or called Fail, it could not be decoded, or something it
// emitted or wrote was refused. The message and everything after it in its
// partition are not committed, so a restart processes them again. An error
// policy other than StopOnError keeps a message that failed to decode or
// whose callback failed from stopping the processor (see ErrorPolicy).
type MessageError struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Err       error
}

// Error names the message and the cause.
func (e *MessageError) Error() string {
	return fmt.Sprintf("error processing message (topic=%s, partition=%d, offset=%d, key=%q): %v",
		e.Topic, e.Partition, e.Offset, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *MessageError) Unwrap() error { return e.Err }

// ErrVisitAborted is returned by a visit when a partition stopped (rebalance
// or shutdown) before every key was visited.
var ErrVisitAborted = errors.New("VisitAll aborted due to context cancel or rebalance")

// ErrForeignPartitioner is what a processor stops with when a group table
// write lands in another partition than the input message it was made for;
// the API exports it (see goka.ErrForeignPartitioner).
var ErrForeignPartitioner = errors.New("the input's producer uses another partitioner than the processor's hasher")

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

// errorKind classifies an error that stops a partition for the errors
// metric.
func errorKind(err error) metrics.ErrorKind {
	var me *MessageError
	switch {
	case errors.As(err, new(emitError)):
		return metrics.ErrEmit
	case errors.As(err, &me):
		return metrics.ErrProcessing
	}
	return metrics.ErrTable
}
