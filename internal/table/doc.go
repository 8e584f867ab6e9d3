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
// recovered (goka's recover-ahead) leaves nothing running; the close itself,
// which waits for sarama's fetch in flight, ends in the background, and the
// partition's next consumer and Close wait for it. Follow starts a new
// consumer after the store's offset. An owner that always follows after
// recovering sets Config.KeepConsumer: Recover then leaves its consumer
// running and Follow takes it over, so that records written meanwhile are
// applied without a pause. A new sarama partition consumer starts fetching
// only after a 100 ms subscription batch and the fetch in flight, and
// closing one waits for that fetch, a long poll of up to
// Consumer.MaxWaitTime on an idle partition: without the hand-over, a
// partition that said it was Running applied nothing for that long. After an error both leave the
// partition in Connecting: the store stays open and readable (stale reads
// are allowed, as in goka), and the caller decides whether to call them
// again, typically through Retry, which retries Kafka errors only.
//
// # Where reading starts and ends
//
// The store keeps the offset of the last record applied. Reading starts
// after it, or at the oldest offset when nothing is stored, and never before
// the oldest offset (retention and compaction remove records). Recover ends
// when the record before the high-water mark taken at its start is applied, or
// a record at or beyond that mark. It never ends with a record below the mark
// missing. The last offsets of a partition can hold no record a consumer
// receives (transaction markers; aborted records for a read-committed
// consumer): when no record has come for Config.IdleTimeout, Config.GapCheck
// is asked whether the offsets still missing hold data, and only its proof
// that they do not ends the recovery early. SaramaGapCheck fetches them from
// the leader and reads the record batches. Without a check, or while it proves
// nothing (the fetch fails, the leader's log ends before the mark, data is
// there but not delivered), Recover keeps waiting, retries the check with a
// backoff, stays Recovering, and logs every Config.ProgressInterval that it
// waits, with the offsets reached and aimed at. A stalled fetch therefore
// delays a recovery but never shortens it. A request timeout the consumer
// reports while recovering is logged and waited through, since sarama's
// consumer reconnects and fetches again by itself; any other consumer error
// ends Recover with a *KafkaError for the caller to retry. goka waits for
// ever at trailing markers.
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
// bounded whatever the size of the table. A writer goroutine writes one
// batch while the loop fills the next, so fetching and decoding overlap with
// the store's writes; at most one batch is in flight, batches are written in
// order, and Recover returns only after the last is written. The Update sees
// its own writes: the storage it gets reads through the batch, and a read of
// the store waits for the batch in flight.
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
// waited for), and Close returns after them. The package starts two
// goroutines beside the loop: the batch writer, and a gap check running
// beside Recover's loop, so that the loop keeps taking records and reporting
// while the check waits on Kafka. Recover and Follow wait for both before
// returning (the writer after its batch in flight is written, whatever ended
// the loop), as they do for the partition consumer's, except after a
// successful Recover: its consumer is stopped, then parked for Follow
// (Config.KeepConsumer) or closed in the background, and Close waits for
// that. A panic of the store while writing becomes the loop's error.
package table
