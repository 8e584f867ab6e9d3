// Package engine runs the partitions of a processor: the consumer group
// handler, the partitions in their roles, the path of a message from its
// claim to its commit mark, visits, and the stop of a partition. The root
// package holds the API (graph, processor, Context, options); it compiles
// the group graph into a Plan once and hands the engine a Config with the
// clients it built. Nothing here imports the root: the API reaches the
// engine through Plan's decode and handle functions and the Message
// methods its Context calls.
//
// # One message, from claim to commit
//
//	Group.ConsumeClaim      sarama's claim goroutine; forwards the message
//	                        to its partition's input queue
//	Partition.run           the partition's goroutine, the only one that
//	                        processes its messages and visits, one at a time
//	Partition.process       counts it, looks its Route up in the Plan,
//	                        starts its commit ticket
//	Partition.attempt       decodes it into a new Message of the ticket
//	Partition.call          Route.Handle: the API's callback with the
//	                        Message as its Context; SetValue, Emit and
//	                        Loopback are held (Message.hold)
//	Partition.retry,        a failed decode or callback: the route's
//	Partition.giveUp        ErrorPolicy retries it (a new attempt, after a
//	                        wait), or skips it, or sends its dead letter
//	                        (whose acknowledgement completes it), or fails
//	                        the partition
//	Message.release         the callback returned: the row goes to the row
//	                        cache, the held writes to the Producer
//	Message.finish          each acknowledgement (and DeferCommit release)
//	                        ends one pending operation; at zero
//	Partition.settle        the commit tracker marks the highest offset
//	                        below which every message completed
//	                        (session.MarkOffset); Group.Cleanup commits it
//
// # Roles
//
// A Partition is created in one role for one consumer group session (under
// the cooperative protocol, for as long as a session keeps the partition in
// that role: a rebalance that adds a partition starts it, one that revokes
// it stops it, and the others run on; see incremental.go):
// RoleActive (the partitions assigned to the instance: restore the tables,
// follow the joins, process the input), RolePassive (hot standby: restore
// and follow the group table and joins) or RoleRecoverOnly (recover-ahead:
// restore once before the group is joined). Its tables live in the
// processor's store registry (internal/stores), so the next session's
// partition, in whatever role, finds them open and caught up.
//
// # Who owns a partition's state
//
// Start runs in the session's setup and prepares the partition (restores
// its tables, marks the group table dirty, builds the row cache); then the
// partition's goroutine (run) owns the message state, the map of commit
// trackers (each tracker locks itself, as acknowledgements complete
// messages) and the slice of held writes, until the context ends. Stop
// takes the partition back once that goroutine has ended, and never while
// a late callback still runs: it abandons the partition instead. What other
// goroutines touch is guarded where it is declared: acknowledgements count
// a Message down atomically; the held writes have a mutex, since a
// goroutine a callback started may write after the callback returned; the
// row cache has its own lock, since Processor.Get reads it; the stats have
// theirs.
//
// # Failure and stop
//
// A partition ends through its context, Partition.ctx, and nothing else:
// Stop cancels it, the end of the session cancels it (its parent), and a
// failure cancels it. Every goroutine of the partition (the message loop,
// the table followers) and every feeder (ConsumeClaim, VisitValues) waits
// on that one Done channel; the message loop checks ctx.Err between
// messages.
//
// A failure is any error that ends a partition: a message that fails (its
// callback panics or calls Fail, it cannot be decoded, a write it made is
// refused), a visit that fails, a follower that cannot go on. A route's
// ErrorPolicy may keep the first three from failing the partition (see
// error_policy.go): a failed attempt's held writes are dropped, so a retry
// reads the committed row and a skipped or dead-lettered message leaves
// nothing; what is not the message's own fault (a refused write, the local
// table, a dead letter Kafka refuses) fails the partition under every
// policy. Whatever goroutine meets it calls
// Partition.fail, which records the first error (an atomic compare and
// swap, so a failure after the stop, a write refused while Stop waits for
// it, counts too), cancels the context and tells the processor, which
// stops Run. Later errors are echoes of the first and are dropped.
//
// Stop, called by Group.Cleanup for every partition of the session (and,
// for a partition a cooperative rebalance revokes, by its ConsumeClaim),
// cancels the context, waits for the partition's goroutines, then for the
// acknowledgements of what it processed, writes the cached rows and marks
// the store clean, all within Config.StopTimeout; it returns the recorded
// failure. A callback still running at the deadline is abandoned: its
// store stays dirty, its writes are dropped, and the registry closes its
// tables once it returns.
//
// # Exactly once
//
// With Config.Txn (the API's WithExactlyOnce) the commit path changes; the
// message path does not. The instance has one transactional producer, and
// one Transactor drives its transactions:
//
//	Partition.run          processes each message and visit inside the
//	                       transactor's gate (processInTxn): the first one
//	                       of a transaction begins it (BeginTxn)
//	Message.release        sends the held writes, as always, now into the
//	                       open transaction
//	processInTxn           once release sent them, records the message's
//	                       next offset with the transaction; the session's
//	                       MarkOffset is not used
//	Transactor.Commit      every commit interval, and at each partition's
//	                       stop: closes the gate (no callback runs, nothing
//	                       is sent), adds the recorded offsets with the
//	                       session's generation and member id
//	                       (AddOffsetsToTxnWithGroupMetadata, KIP-447),
//	                       commits (CommitTxn flushes the writes first),
//	                       opens the gate again
//
// A message's writes and its offset are thus always in one transaction. Any
// failure of a partition poisons the transaction (Partition.fail calls
// Transactor.Poison): the next commit aborts instead, and so does a commit
// the broker refuses (a write refused, a zombie's generation); the abort
// stops the processor. The group table store is marked dirty while the
// partition runs, as without transactions, and Stop marks it clean only
// after the commit that holds the partition's last writes succeeded: a store
// that may hold aborted writes (an abort, a crash at any point) stays dirty
// and is rebuilt from the topic's committed records at the next start.
// The row cache needs no rollback: it goes with the store.
package engine
