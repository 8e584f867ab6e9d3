package table

import (
	"time"

	"github.com/IBM/sarama"

	"github.com/seed-b2c684ed/goka/internal/signal"
	"github.com/seed-b2c684ed/goka/storage"
)

// States of a Partition, numbered like goka's PartitionStatus so that the
// root package can convert them directly.
const (
	// Stopped: not opened yet, or closed.
	Stopped signal.State = iota
	// Initializing: the store is being built and opened.
	Initializing
	// Connecting: looking up offsets and starting the consumer, or waiting
	// to retry after an error. The store is readable but may be stale.
	Connecting
	// Recovering: reading the topic up to the high-water mark taken when
	// Recover started.
	Recovering
	// Preparing: caught up; the store is being told so (MarkRecovered).
	Preparing
	// Running: recovered, or following the topic.
	Running
)

// Record is one table record handed to Update. It is reused for the next
// record, so Update must not keep it, nor its Value or Headers, after it
// returns; storages copy what they keep.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	// Value is nil for a tombstone.
	Value     []byte
	Headers   []*sarama.RecordHeader
	Timestamp time.Time
}

// Update applies rec to st. The nil Update is the default: a nil Value
// deletes the key, any other value sets it.
//
// st buffers writes into the current batch: Get and Has see the writes made
// so far in the batch (read your writes), iterators see them too, but Update
// may not close st nor set its offset, which the partition owns.
type Update func(st storage.Storage, rec *Record) error
