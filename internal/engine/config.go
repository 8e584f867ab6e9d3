package engine

import (
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/metrics"
	"github.com/seed-b2c684ed/goka/internal/stores"
	"github.com/seed-b2c684ed/goka/internal/tablecache"
)

// Config is what the engine takes from the processor that runs it. Every
// field is set by the API layer from its options; the engine validates
// nothing the options validated already.
type Config struct {
	Plan *Plan
	// Producer sends the callbacks' emits, loopbacks and table writes.
	Producer Producer
	// Stores holds the local tables from one session to the next.
	Stores *stores.Registry
	// Metrics is nil when metrics are off.
	Metrics *metrics.Processor
	// Log is the processor's logger; PartitionLog gives the logger of one
	// partition, named for it.
	Log          Logger
	PartitionLog func(partition int32) Logger
	// ClaimLog gives the logger of one claimed topic partition.
	ClaimLog func(topic string, partition int32) Logger

	NilHandling NilHandling
	// ChannelSize is the number of messages queued for a partition's
	// goroutine.
	ChannelSize int
	// StopTimeout bounds a partition's stop (see Partition.Stop).
	StopTimeout time.Duration
	// CacheRows lets the row cache of an active partition keep its writes
	// until a full batch; false writes them whenever no message waits.
	CacheRows bool
	// RowBudget bounds the memory of the row caches of all partitions.
	RowBudget *tablecache.Budget
	// DeferredCommitWarning is the age of a deferred commit not released
	// at which the partition warns about it; zero or less: never.
	DeferredCommitWarning time.Duration
	// Backoff builds the backoff of a table follower's retries.
	Backoff func() (Backoff, error)
	// OnFail hears of the first error of every partition; the processor
	// stops on it.
	OnFail func(error)

	// The group's options.
	NumPartitions     int32
	HotStandby        bool
	RecoverAhead      bool
	GroupRetryTimeout time.Duration
	// Rebalanced calls the user's rebalance callback with the session's
	// partitions; it must not panic.
	Rebalanced func(assigned []int32) error
	// Txn runs exactly-once processing; nil: at-least-once, the offsets
	// marked in the consumer group session once the writes are acknowledged.
	Txn *Transactor
	// Offsets reads committed and available offsets for the offset check of
	// a session's setup; nil skips the check (sarama's reset stays).
	Offsets ClaimOffsetsReader
}

// Producer sends records for the engine.
type Producer interface {
	// Send sends a record (nil value: a tombstone) and calls done once with
	// the record as written (its partition and offset) or the error.
	Send(topic, key string, value []byte, headers map[string][]byte, done func(written *sarama.ProducerMessage, err error))
}

// Logger is the part of the processor's logger the engine writes to.
type Logger interface {
	Printf(format string, args ...any)
}

// Backoff spaces retries; it is the API's Backoff.
type Backoff interface {
	Duration() time.Duration
	Reset()
}
