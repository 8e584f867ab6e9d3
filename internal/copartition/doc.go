// Package copartition holds the rules that keep the topics of a processor
// group co-partitioned: the check run before a processor starts, and the
// consumer-group plan that hands every member the same partition numbers of
// every topic it consumes.
//
// A processor joins the messages of partition p of its inputs with partition p
// of its joined tables and its group table. That is only correct if the same
// key lands in the same partition number everywhere, which needs equal
// partition sets, and if one member owns partition p of every topic at once,
// which a generic Kafka assignor (range, round robin) does not promise.
//
// Everything here is a pure function of its arguments so that the planning
// rules can be tested without a broker; the root package adapts them to
// sarama's BalanceStrategy and to its TopicManager.
package copartition
