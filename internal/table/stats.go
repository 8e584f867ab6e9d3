package table

import (
	"time"

	"github.com/seed-b2c684ed/goka/internal/signal"
)

// stallTimeout is how long a partition that is behind may go without a
// record before Stats reports it stalled, as goka does.
const stallTimeout = 2 * time.Minute

// Stats is a snapshot of a partition, the material of goka's TableStats.
type Stats struct {
	Status signal.State
	// Stalled: the partition is behind the topic and no record came for
	// more than two minutes.
	Stalled  bool
	Recovery RecoveryStats
	Input    InputStats
	Writes   WriteStats
}

// RecoveryStats describes the last Recover.
type RecoveryStats struct {
	StartTime time.Time
	// RecoveryTime is when the partition reached Running; zero before.
	RecoveryTime time.Time
	// Offset is the last offset restored.
	Offset int64
	// Hwm is the high-water mark taken when Recover started.
	Hwm int64
}

// InputStats counts the records read from the table topic.
type InputStats struct {
	Count int64
	// Bytes counts record values, as goka does.
	Bytes int64
	// LastOffset is the offset of the last record applied, or the one
	// before the offset the consumer started at.
	LastOffset int64
	// OffsetLag is how many offsets the consumer's high-water mark is
	// ahead of LastOffset; never negative.
	OffsetLag int64
	// Delay is the time between the last record's timestamp and the
	// snapshot; zero before the first record.
	Delay time.Duration
}

// WriteStats counts the writes an active processor reported with
// TrackWrite.
type WriteStats struct {
	Count int64
	Bytes int64
}

// statsState is what the applying goroutine publishes; Stats derives the
// rest at snapshot time. Guarded by Partition.statsMu.
type statsState struct {
	recovery RecoveryStats
	input    InputStats
	writes   WriteStats
	// consuming is true while a consumer is running, the only time a
	// partition can stall.
	consuming   bool
	hwm         int64 // the consumer's high-water mark
	lastRecord  time.Time
	lastMessage time.Time // when a record or the consumer start was last seen
}

// snapshot computes the exported stats at now.
func (s *statsState) snapshot(status signal.State, now time.Time) Stats {
	out := Stats{Status: status, Recovery: s.recovery, Input: s.input, Writes: s.writes}
	out.Input.OffsetLag = max(s.hwm-1-s.input.LastOffset, 0)
	if !s.lastRecord.IsZero() {
		out.Input.Delay = now.Sub(s.lastRecord)
	}
	out.Stalled = s.consuming && out.Input.OffsetLag > 0 && now.Sub(s.lastMessage) > stallTimeout
	return out
}
