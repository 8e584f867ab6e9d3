// Package tester runs processors, views and emitters against an in-memory
// Kafka, so callbacks can be unit-tested without a broker.
//
// It is not a second engine: a processor built with goka.WithTester runs the
// library's own processor, partition, table and context code; only the
// clients underneath (consumer group, table consumer, producer, topic manager
// and storage) are replaced by in-memory ones that this package implements on
// the same sarama and goka interfaces the production clients implement.
//
// # Model
//
// Every topic has one partition, 0, holding a queue of messages whose offset
// is their index. Producing appends to the queue and is acknowledged at once.
// Every processor and view keeps its own memory storage per table, as it
// keeps its own local store in production; they outlive Run. TableValue and
// GetTableKeys read the storage of the processor that persists the table (or
// of the first reader), and SetTableValue writes into every storage of the
// table, including those created later. A consumer group starts at the offset
// its group committed, or at the oldest message.
//
// # Synchronisation
//
// Consume appends a message and returns only when every running processor
// has processed and committed everything in the topics it consumes, and every
// table reader has applied everything in its tables: messages the callbacks
// emitted, looped back or wrote are followed through the whole cascade.
// Catchup, TableValue and GetTableKeys wait the same way, so a test can also
// drive the processors through an emitter.
//
// Consume, Catchup and the table accessors first wait until every registered
// processor and view runs. NewQueueTracker does not: tests create their
// trackers before they start the Run goroutines, and a tracker starts at the
// topic's end as it is then. goka's tester waits for ever when one never runs;
// this one fails the test after a timeout (see WithStartupTimeout) with a
// message naming what did not start, and fails it the same way when the
// cascade does not settle, naming the topic and the reader that lag behind.
//
// # Exactly-once
//
// The in-memory Kafka has no transactions: a processor with
// goka.WithExactlyOnce runs under the tester as an at-least-once one, its
// option without effect rather than an error. Exactly-once has no meaning
// here: nothing crashes, is fenced or aborts, and every message is
// processed once, synchronously. Test the callbacks with the tester and
// the transactions against the embedded broker (kafkatest).
package tester
