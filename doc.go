/*
Package goka is a library for stateful stream processing on Apache Kafka. It is
source-compatible with github.com/lovoo/goka v1.1.16: a goka program builds
against this module once its import path is changed.

# The model

A group is a named set of processor instances that share work through a Kafka
consumer group. What a group does is described by its group graph, built with
DefineGroup from edges:

  - Input and Inputs: streams consumed through the consumer group; every
    message is passed to a ProcessCallback.
  - Persist: the group table, "<group>-table", a log-compacted topic holding
    one value per key. A callback reads and writes the value of its message's
    key with Context.Value, SetValue and Delete.
  - Loop: the loop stream, "<group>-loop". Context.Loopback sends a message to
    any key; the Loop callback receives it in the partition that owns that key.
  - Join: a table co-partitioned with the inputs; each partition reads the same
    partition of the table.
  - Lookup: any table, read in full; a callback can read any key of it.
  - Output: streams a callback may Emit to.
  - Visitor: a named callback run over every key of the group table by
    Processor.VisitAll.

Inputs, joins, the loop and the group table must be co-partitioned: they have
the same number of partitions, and a key lives in the same partition of each.
Keys are mapped to partitions with FNV-1a, exactly as goka does, so goka
programs and ours agree on where a key lives. Kafka's Java client, Kafka
Connect, Kafka Streams and franz-go hash with murmur2 instead: for topics they
write, give Murmur2Hasher to WithHasher, WithEmitterHasher and WithViewHasher.
A processor whose input was written with another hash than its own stops
with ErrForeignPartitioner, in a *MessageError, at the first table write of a
key that landed in another partition, and commits nothing past that message.

A table is the compacted topic plus a local copy of it in a storage.Storage
(LevelDB by default). A processor instance keeps the local copy of the
partitions it is assigned; a View keeps a read-only copy of every partition of
a table and follows its updates. An Emitter writes messages to a stream from
outside a processor. Codecs translate between the values callbacks see and the
bytes in Kafka.

The tester package runs processors, views and emitters in memory, without
Kafka, through the same code, so callbacks can be unit-tested.

# The lifecycle of Run

NewProcessor validates the graph, checks that the inputs and joins are
co-partitioned and creates the loop and group-table topics when they are
missing. Processor.Run then:

 1. starts a view for every Lookup and waits until they have recovered;
 2. joins the consumer group, subscribed to the inputs and the loop;
 3. for every partition the group assigns it, restores the group table and the
    joined tables of that partition from Kafka into local storage, from the
    offset stored locally (or from the oldest offset for an empty store) up to
    the end of the topic as it was when the restore began. Every record up to
    that end is read: offsets that never arrive end the restore only once a
    fetch of them shows they hold no data (transaction markers, or aborted
    records when reading committed ones); while a broker stalls, the restore
    waits, stays recovering and logs every few seconds where it stands;
 4. runs one goroutine per partition that takes the messages of every input
    and of the loop in order and calls the callbacks;
 5. on a rebalance, stops every partition cleanly (in-flight messages
    finish, offsets are committed, the stores are marked clean) within the
    partition stop timeout (WithPartitionStopTimeout, below the group's
    rebalance timeout; a partition that misses it is left behind with its
    store marked dirty, and logs so) and starts those of the new session. A local store stays open while its partition
    stays on the instance, whatever its role (assigned, hot standby,
    recover-ahead), with its cache: a partition that stays, or that an
    instance kept warm and is now assigned, reads only what was written since.
    The store of a partition that leaves is closed. A storage builder may
    therefore hand back the same store for the same topic and partition;
 6. when its context is cancelled or a callback fails, stops every partition
    the same way, closes the stores and returns. Run returns only after every
    goroutine it started has ended.

A processor, like a view, runs once; a second Run returns an error.

# Delivery guarantee

Processing is at least once by default; WithExactlyOnce makes it exactly once
within Kafka (see below). The offset of an input message is committed only
after its callback returned, every message it emitted, looped back or wrote to
the group table was acknowledged by Kafka, and every Context.DeferCommit it
took was released. Offsets are committed in order: a message is never
committed while an earlier message of the same partition is still pending, so
a failure can never skip a message (goka may commit past a message whose emit
later fails). After a crash the uncommitted messages are processed again; the
group table then holds their effects twice only where the callback is not
idempotent.

A callback's writes wait until it returns. SetValue, Delete, Emit and
Loopback take effect (the local table is written, then the messages are sent
in the order they were made) only once the callback has returned without
failing; within the callback, Value already returns what SetValue set. A
callback that fails (Context.Fail, a panic, an emit to a topic that is not an
output) leaves nothing: no message reaches Kafka and the local table is
unchanged, so every retry of the message starts from the same state (goka
sends each write at once, and its retries repeat them). Once sent, the writes
are separate Kafka messages, not a transaction: when Kafka refuses one of
them after the callback returned, those it acknowledged stay, the message is
not committed, and its retry writes them again. Effects outside Kafka (a
database, an HTTP call) are never undone.

Acknowledged means what the producer configuration makes it mean.
DefaultConfig waits for every in-sync replica (WaitForAll) and sends with the
idempotent producer, as Kafka's own clients do since 3.0: an acknowledged
write is held by min.insync.replicas brokers and survives the loss of the
partition leader (the topic manager creates tables and streams with 3
replicas and min.insync.replicas=2; topics it does not create need the same),
and a batch retried after a timeout is neither written twice nor overtaken by
a later batch of the same partition. NewProcessor, NewEmitter and NewProducer
refuse a configuration under which no write is acknowledged (NoResponse), an
emit's result is never reported (Producer.Return.Successes or Errors off), or
idempotence is asked for without the settings sarama needs for it; the error
names the setting to change. Giving idempotence up is allowed: with
WaitForLocal, a write the leader acknowledged is lost when it fails before a
follower copied it, although the input offset behind it may already be
committed, and retries may duplicate writes or reorder two writes of one key.
Idempotence holds within one producer's life: a message processed again after
a restart is written again. Effects outside Kafka are the callback's own.

The local table is written before the write to Kafka is acknowledged, so a
running processor marks its stores dirty and stores their real offset again
only when it stops cleanly, with every write acknowledged. A store found
dirty, after a crash, is emptied and restored from the table topic, so values
that never reached Kafka do not survive it (goka keeps them, and then applies
the uncommitted input again on top). A restored store's offset never runs
ahead of its data: records and offset are written in one batch.

With WithExactlyOnce, what the callbacks of a commit interval
(WithCommitInterval, 100 ms by default) write to Kafka (group table, emits,
loopbacks) and the offsets of the input messages that caused it are one Kafka
transaction of the instance's transactional producer, committed with the
consumer group's generation (KIP-447) or not at all: a read_committed reader
(the processor's own inputs, tables and lookups; a View with
WithViewReadCommitted) sees every input message's effects exactly once, after
crashes, rebalances, and an instance fenced because it lost its partitions
while paused (its Run returns an error wrapping ErrFenced). A failed callback
aborts the instance's transaction and stops the processor; the local stores of
an aborted or crashed instance are rebuilt from the committed table. Effects
outside Kafka (an Emitter, an HTTP call) are not covered and repeat after a
crash; DeferCommit is refused. The tester runs such processors at least once.

# Where an input partition starts

A partition resumes at the offset its group committed. When that offset is no
longer in the topic, because the group was stopped (or fell behind) longer
than the topic's retention.ms or records were deleted, the records in between
are gone. The processor then resumes at the oldest offset the topic still
holds, logs a line naming the topic, the partition and both offsets, and
counts it in goka_processor_offset_resets_total; sarama alone would jump to
Consumer.Offsets.Initial and, with the newest offset, skip everything left as
well. A committed offset past the newest offset (the topic was recreated, or
its log truncated by an unclean leader election) resumes at the oldest offset
too, logged and counted the same way: the records the topic holds now are
processed, some of them a second time after a truncation. The check runs when a consumer group session starts and needs the
library's topic manager (any TopicManagerBuilder built on NewTopicManager);
with a TopicManager of another kind sarama's reset applies.

A partition without a committed offset starts at Consumer.Offsets.Initial: a
new group, and also a group whose committed offsets the broker expired
because it had no member for longer than offsets.retention.minutes (7 days by
default); neither can be told from the other. What each choice loses:

  - sarama.OffsetNewest (DefaultConfig, as goka): every record written before
    the group first started, and, after an expiry, every record written while
    the group was down.
  - sarama.OffsetOldest: nothing still in the topic, but the group processes
    the whole retained topic: once at its first start, and again after an
    expiry, applying records it had already processed a second time.

Keep offsets.retention.minutes above the longest time a group may be stopped.

# Errors

A callback that panics or calls Context.Fail, a message that cannot be
decoded, an emit that Kafka refuses, and a deferred commit released with an
error all stop the processor: Run returns an error that names the topic,
partition, offset and key of the message, and no offset is committed past it.
Restarting the processor processes that message again; WithRestartOnError
makes Run do that itself, with backoff and its local stores kept, returning
only on cancel, on an error IsPermanent reports (Permanent marks one) or
when its RestartPolicy gives up. An error policy
(WithErrorPolicy, WithInputErrorPolicy) changes that for the first three,
which belong to the message: RetryOnError calls the callback again after a
backoff, SkipOnError logs, counts and commits past the message, and
DeadLetterOnError writes it with headers saying why to <group>-dlq and
commits past it once that write is acknowledged; a failed attempt leaves
nothing behind, and the messages around it keep their order (see
ErrorPolicy). Every call into user
code (codecs, hashers, callbacks, update callbacks, visitors, rebalance
callbacks, context wrappers) turns a panic into an error that carries the
panic's value and the user's stack frames: a codec or hasher panicking on a
message fails that message; an update callback panicking on a table record
ends the restore or the follow of that table partition with an error naming
the record's topic, partition, offset and key (a view's Run and a processor's
Run return it; a view with WithViewAutoReconnect does not retry it); a read
(Processor.Get, View.Get, Has, an iterator's Value) or an emit of an
Emitter (its error, or its promise's) meeting one returns it. A Promise
callback that panics when its send settles, in the producer's goroutine, is
logged with its stack and the next callback runs. Errors reading a
table, configuring a topic or reaching Kafka during start are returned by the
constructors or by Run with the topic and partition at fault. The library
never panics out of its goroutines, never calls os.Exit or log.Fatal, and
wraps errors with %w so errors.Is and errors.As see the cause.

A View never answers "absent" before it has recovered: until every partition
has been restored once, Get and Has for a key it does not hold yet, and its
iterators, return an error wrapping ErrViewNotRecovered, where goka returns
nil. Values it already holds are served, stale during catch-up and reconnects
as in goka. View.WaitRecovered waits for that point and reports a Run that
ended first.

# Metrics and logs

WithMetrics, WithViewMetrics and WithEmitterMetrics register Prometheus
metrics (named goka_*) in a prometheus.Registerer: messages consumed and
emitted per topic and partition, callback and emit latency, consumer lag,
table recovery progress and duration, partitions held, rebalances and
errors. Serve the registry with promhttp.HandlerFor. The consumer lag is
computed when scraped from the consumer's current high-water mark, so it
shows a backlog while a callback is stuck (goka reports 0). Without these
options nothing is registered and the engine pays one nil check per call.

The default logger, DefaultLogger, writes through log/slog: each line is a
record of slog.Default() with the component and fields such as group, topic
and partition as attributes. NewSlogLogger does the same with a given
slog.Logger. Any other Logger receives goka's text lines, prefixed with the
component ("[Processor g > PartitionProcessor (3)] ...").

# Testing

The tester package runs processors, views and emitters on an in-memory Kafka
through the same code as production: goka.WithTester, WithViewTester and
WithEmitterTester hand them the tester's clients. tester.Consume returns once
every processor and view has handled the message and everything it caused.
The kafkatest package starts an embedded Kafka broker for integration tests
and examples.

# Concurrency

Callbacks of one partition run in one goroutine, one message at a time; those
of different partitions run in parallel. A Context must not be used after its
callback returned, except Context.Context(). Processor.Get, the methods of a
View and Emitter.Emit are safe for concurrent use.
*/
package goka
