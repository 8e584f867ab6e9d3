// Package table restores one partition of a table topic into a local store
// and keeps it up to date. Processors use it for their group table, joins
// and hot standby partitions; views use one per partition of the viewed
// table.
//
// # Lifecycle
//
// A Partition is created stopped by New and then driven by its owner:
//
//	Open      Stopped -> Initializing      build and open the store
//	Recover   -> Connecting -> Recovering -> Preparing -> Running
//	                                       read up to the high-water mark
//	                                       taken at the start, then return
//	Follow    -> Connecting -> Running     read new records until ctx ends
//	                                       (stays Running right after Recover)
//	Close     -> Stopped                   stop, wait, close the store
//
// Recover and Follow open the store themselves when Open was not called.
// Recover stops its consumer before it returns, so a partition that is only
// recovered (goka's recover-ahead) leaves nothing running; Follow starts a
// new consumer after the store's offset. After an error both leave the
// partition in Connecting: the store stays open and readable (stale reads
// are allowed, as in goka), and the caller decides whether to call them
// again, typically through Retry, which retries Kafka errors only.
//
// # Where reading starts and ends
//
// The store keeps the offset of the last record applied. Reading starts
// after it, or at the oldest offset when nothing is stored, and never before
// the oldest offset (retention and compaction remove records). Recover ends
// when the record before the high-water mark taken at its start is applied;
// a record at or beyond that mark also ends it, and so does a consumer that
// stays idle for Config.IdleTimeout while reporting that the topic's end is
// reached, because the last offsets of a partition can be transaction
// markers that no consumer receives. goka waits for ever in that case.
//
// A store whose offset is at or beyond the high-water mark holds records the
// topic does not have (the topic was recreated, or the storage path is
// wrong). goka logs a warning and serves that data; Recover and Follow
// return an error matching ErrStoreAhead, which says to delete the store.
//
// # Batches
//
// Records go through the Update function into a batch, which is written
// with storage.WriteBatch together with the offset of its last record: the
// store's offset is never ahead of its data, and a crash loses at most the
// last batch, which is read again. A batch is written when it holds
// Config.MaxBatchRecords records or Config.MaxBatchBytes bytes, or as soon
// as the consumer has no further record ready. Recovery therefore writes
// large batches, a follower shows a new record at once, and memory stays
// bounded whatever the size of the table. The Update sees its own writes:
// the storage it gets reads through the batch.
//
// # Errors
//
// Every error names the topic and partition, and the offset when one is
// known. Kafka client failures are *KafkaError and Retriable; a failing
// Update is an *UpdateError naming the record, and nothing of its batch is
// written; ErrStoreAhead, ErrClosed, ErrBusy and ErrConfig are sentinels.
//
// # Concurrency
//
// One goroutine at a time applies records: Recover and Follow exclude each
// other (ErrBusy). Storage reads, Stats, TrackWrite and Signal may be called
// from any goroutine at any time. Close may be called while Recover or
// Follow run; they return promptly (a Kafka call already in progress is
// waited for), and Close returns after them. The package starts no
// goroutine of its own; the partition consumer's are ended before Recover or
// Follow returns.
package table
