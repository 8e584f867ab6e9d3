package goka

import (
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/storage"
)

// UpdateCallback applies one record of a table topic to the local storage
// while a table is restored or followed: the group table and joins of a
// processor, and every partition of a view. It is not called for the
// processor's own SetValue and Delete. The storage it gets buffers writes in
// a batch that is written together with the record's offset, so reads through
// it see the writes made so far.
type UpdateCallback func(ctx UpdateContext, s storage.Storage, key string, value []byte) error

// UpdateContext describes the record an UpdateCallback applies.
type UpdateContext interface {
	Topic() Stream
	Partition() int32
	Offset() int64
	Headers() Headers
	Timestamp() time.Time
}

// DefaultUpdateContext is the UpdateContext the library passes.
type DefaultUpdateContext struct {
	topic     Stream
	partition int32
	offset    int64
	headers   []*sarama.RecordHeader
	timestamp time.Time
}

// Topic returns the table topic of the record.
func (ctx DefaultUpdateContext) Topic() Stream { return ctx.topic }

// Partition returns the partition of the record.
func (ctx DefaultUpdateContext) Partition() int32 { return ctx.partition }

// Offset returns the offset of the record.
func (ctx DefaultUpdateContext) Offset() int64 { return ctx.offset }

// Headers returns the record's headers, converted on each call.
func (ctx DefaultUpdateContext) Headers() Headers { return HeadersFromSarama(ctx.headers) }

// Timestamp returns the record's timestamp.
func (ctx DefaultUpdateContext) Timestamp() time.Time { return ctx.timestamp }

// DefaultUpdate deletes the key for a nil value (a tombstone) and sets it
// otherwise.
func DefaultUpdate(ctx UpdateContext, s storage.Storage, key string, value []byte) error {
	if value == nil {
		return s.Delete(key)
	}
	return s.Set(key, value)
}
