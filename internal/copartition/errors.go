package copartition

import "errors"

var (
	// ErrNotCopartitioned reports topics whose partition sets differ, so the
	// same partition number does not cover the same keys in all of them.
	ErrNotCopartitioned = errors.New("copartition: topics are not co-partitioned")

	// ErrPartitionGap reports a topic whose partitions are not exactly
	// 0..n-1; hashing a key modulo n would then target a missing partition.
	ErrPartitionGap = errors.New("copartition: partition gap")

	// ErrInconsistentTopics reports group members that subscribe to different
	// topic sets, refused by the strict plan: it usually means two programs
	// share a group name by mistake.
	ErrInconsistentTopics = errors.New("copartition: members subscribe to different topics")

	// ErrUnknownTopic reports a topic a member subscribes to that the plan
	// has no partitions for.
	ErrUnknownTopic = errors.New("copartition: subscribed topic has no partition metadata")

	// ErrNoTopics reports a check over no topics at all, where no common
	// partition count exists.
	ErrNoTopics = errors.New("copartition: no topics to check")
)
