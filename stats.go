package goka

import "time"

// The stats types have no json tags on purpose: their JSON keys are the Go
// field names, which the monitoring UI and goka's tools rely on.

// ProcessorStats is a snapshot of a processor: its partitions and lookups.
type ProcessorStats struct {
	Group  map[int32]*PartitionProcStats
	Lookup map[string]*ViewStats
}

// PartitionProcStats is a snapshot of one partition processor.
type PartitionProcStats struct {
	Now        time.Time
	TableStats *TableStats
	Joined     map[string]*TableStats
	Input      map[string]*InputStats
	Output     map[string]*OutputStats
}

// TableStats is a snapshot of one table partition.
type TableStats struct {
	Stalled  bool
	Status   PartitionStatus
	RunMode  PPRunMode
	Recovery *RecoveryStats
	Input    *InputStats
	Writes   *OutputStats
}

// RecoveryStats tells how a table partition was restored.
type RecoveryStats struct {
	StartTime    time.Time
	RecoveryTime time.Time
	Offset       int64 // the last offset restored
	Hwm          int64 // the high-water mark when the restore started
}

// InputStats counts what a partition consumed from one topic.
type InputStats struct {
	Count      uint
	Bytes      int
	OffsetLag  int64
	LastOffset int64
	Delay      time.Duration
	// Retried, Skipped and DeadLettered count what the input's error
	// policy did with failed messages (see ErrorPolicy): the calls it
	// retried, the messages it skipped and those it wrote to the
	// dead-letter topic. Zero in a table's stats.
	Retried      uint
	Skipped      uint
	DeadLettered uint
}

// OutputStats counts what a partition produced to one topic.
type OutputStats struct {
	Count uint
	Bytes int
}

// ViewStats is a snapshot of a view's partitions.
type ViewStats struct {
	Partitions map[int32]*TableStats
}
