// Package kafkatest runs a Kafka broker inside the current process, for tests
// and examples.
//
// The library talks to Kafka through sarama, and the code paths worth testing
// (consumer-group rebalances, offset commits, topic creation, table recovery
// from compacted topics) only run against something that speaks the Kafka wire
// protocol. Requiring a real broker would mean the examples do nothing on a
// laptop without Kafka and every integration test needs a setup step. A
// [Cluster] removes both: it starts a broker on 127.0.0.1 in a millisecond or two,
// keeps every byte in memory and goes away with [Cluster.Close].
//
// The broker is github.com/twmb/franz-go/pkg/kfake, wrapped so that it looks
// like the broker users run in production, Apache Kafka 4.x in its default
// configuration:
//
//   - one broker, topics with one partition unless created with a count;
//   - auto.create.topics.enable is off: a client that asks about, produces to or
//     consumes from a topic that was never created gets
//     UNKNOWN_TOPIC_OR_PARTITION, as the library must see it in production;
//   - requests in protocol versions that Kafka 4.0 removed (KIP-896) are
//     refused by closing the connection, as Kafka 4.0 does, so a client
//     configured with too old a protocol version fails here instead of in
//     production (see [WithLegacyProtocols]);
//   - a replication factor above the number of brokers is refused with
//     INVALID_REPLICATION_FACTOR.
//
// Close returns only after every goroutine the broker started has ended, so
// tests can check for leaked goroutines right after it.
//
// Where it differs from Kafka, in ways a test may notice:
//
//   - there is no replication: every broker serves its partitions from the
//     same memory;
//   - log compaction runs hourly (log.cleaner.backoff.ms) or when
//     [Cluster.Compact] is called, and never touches a partition's last batch,
//     as Kafka never compacts the active segment;
//   - CreateTopics accepts unknown config keys and invalid values instead of
//     answering INVALID_CONFIG; DescribeConfigs does list every known topic
//     config, with its default where none was set;
//   - a consumer group's first join completes at once: there is no
//     group.initial.rebalance.delay.ms (3 s on a default Kafka);
//   - group.min.session.timeout.ms is 6 s as on Kafka, so a shorter
//     Consumer.Group.Session.Timeout needs [WithBrokerConfig].
//
// A rebalance caused by a member joining a stable group completes when every
// existing member has rejoined, which sarama does on its next heartbeat; a
// test that starts several members should set
// Consumer.Group.Heartbeat.Interval to about 100 ms instead of the 3 s
// default.
package kafkatest
