package goka

import (
	"context"

	"github.com/seed-b2c684ed/goka/internal/engine"
	"github.com/seed-b2c684ed/goka/internal/table"
)

// MessageError is the error a processor stops with when a message fails: its
// callback panicked or called Fail, it could not be decoded, or something it
// emitted or wrote was refused. The message and everything after it in its
// partition are not committed, so a restart processes them again. An error
// policy other than StopOnError keeps a message that failed to decode or
// whose callback failed from stopping the processor (see ErrorPolicy). It names
// the message (Topic, Partition, Offset, Key) and wraps the cause (Err).
type MessageError = engine.MessageError

// ErrVisitAborted is returned by VisitAll when a partition stopped (rebalance
// or shutdown) before every key was visited.
var ErrVisitAborted = engine.ErrVisitAborted

// ErrForeignPartitioner is what a processor stops with when a group table
// write lands in another partition than the input message it was made for.
// Co-partitioning needs every producer of the inputs to place keys with the
// processor's hasher; a table write goes where the processor's hasher says,
// so a different partition proves that the input's producer hashed the key
// otherwise (murmur2, the default of the Java client, Kafka Connect, Kafka
// Streams and franz-go, where the library defaults to FNV-1a). Left running,
// the partition would store the acknowledged offset of another partition and
// keep rows in a store whose table partition does not hold them.
var ErrForeignPartitioner = engine.ErrForeignPartitioner

// PartitionProcessor runs one partition of a processor: its tables and, when
// active, the goroutine that calls the callbacks for its messages. It is
// created by the processor for every assigned partition (and, with hot
// standby, for every other partition of the group table); the machinery is
// internal/engine's Partition.
type PartitionProcessor struct {
	p *engine.Partition
}

// Recovered reports whether the partition's tables are restored and it
// processes (or, passive, follows) its partition.
func (pp *PartitionProcessor) Recovered() bool { return pp.p.Recovered() }

// Start restores the partition's tables, cancelled by setupCtx, then starts
// the goroutines that run until ctx is cancelled or Stop is called.
func (pp *PartitionProcessor) Start(setupCtx, ctx context.Context) error {
	return pp.p.Start(setupCtx, ctx)
}

// Stop stops the partition: it stops taking messages, waits (bounded by the
// partition stop timeout) until the messages already processed are
// acknowledged and committed, writes the cached rows and stores the table
// offset. It returns the partition's error, if any. Stop is idempotent.
func (pp *PartitionProcessor) Stop() error { return pp.p.Stop() }

// VisitValues calls the visitor name for every key of the partition's table,
// as it was when the visit started, in the partition's goroutine between
// input messages. visited counts the keys whose visit completed.
func (pp *PartitionProcessor) VisitValues(ctx context.Context, name string, meta interface{}, visited *int64) error {
	return pp.p.VisitValues(ctx, name, meta, visited)
}

// partitionStats converts the engine's stats of a partition.
func partitionStats(p *engine.Partition) *PartitionProcStats {
	s := p.Stats()
	mode := PPRunMode(p.Role())
	stats := &PartitionProcStats{
		Now:    s.Now,
		Joined: make(map[string]*TableStats, len(s.Joined)),
		Input:  make(map[string]*InputStats, len(s.Input)),
		Output: make(map[string]*OutputStats, len(s.Output)),
	}
	if s.Table != nil {
		stats.TableStats = newTableStats(*s.Table, mode)
	}
	for topic, t := range s.Joined {
		stats.Joined[topic] = newTableStats(t, mode)
	}
	for topic, in := range s.Input {
		stats.Input[topic] = &InputStats{
			Count: in.Count, Bytes: in.Bytes, OffsetLag: in.OffsetLag, LastOffset: in.LastOffset, Delay: in.Delay,
			Retried: in.Retried, Skipped: in.Skipped, DeadLettered: in.DeadLettered,
		}
	}
	for topic, out := range s.Output {
		stats.Output[topic] = &OutputStats{Count: out.Count, Bytes: out.Bytes}
	}
	return stats
}

// newTableStats converts the stats of a table partition.
func newTableStats(s table.Stats, mode PPRunMode) *TableStats {
	return &TableStats{
		Stalled: s.Stalled,
		Status:  PartitionStatus(s.Status),
		RunMode: mode,
		Recovery: &RecoveryStats{
			StartTime:    s.Recovery.StartTime,
			RecoveryTime: s.Recovery.RecoveryTime,
			Offset:       s.Recovery.Offset,
			Hwm:          s.Recovery.Hwm,
		},
		Input: &InputStats{
			Count:      uint(s.Input.Count),
			Bytes:      int(s.Input.Bytes),
			OffsetLag:  s.Input.OffsetLag,
			LastOffset: s.Input.LastOffset,
		},
		Writes: &OutputStats{Count: uint(s.Writes.Count), Bytes: int(s.Writes.Bytes)},
	}
}
