// Package systemtest holds the system tests: the library against a real Apache
// Kafka broker, where the embedded kafkatest broker cannot stand in (the real
// broker's protocol floor, its compaction, its group coordinator timing).
//
// The tests find the broker through KAFKA_BROKERS, a comma-separated list of
// addresses. `make systemtest` installs and starts a single-node Kafka 4.x with
// scripts/kafka.sh, runs this package against it and stops the broker again.
// Without KAFKA_BROKERS every test is skipped with a message saying so, unless
// REQUIRE_KAFKA=1 (set in CI), which turns the skip into a failure: a CI run
// must never pass because the broker was missing.
//
// This package also exports the helpers the tests share: Brokers,
// CheckEnvironment, NewConfig and UniqueName.
package systemtest
