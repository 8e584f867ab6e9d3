package table

import (
	"context"
	"sync/atomic"
)

// RestoreLimit bounds how many partitions sharing it restore at once.
//
// A restore reads a partition as fast as the broker sends it and holds up to
// two batches (Config.MaxBatchBytes: one filled, one written) plus the
// consumer's fetch buffers while it runs; a processor that restores 64
// partitions of a group table and two joins at once holds about 200 of
// those, and its cores are about as busy with a few dozen. With a limit,
// the others wait, holding nothing, and start as soon as one has applied
// its records (closing its consumer may wait one more fetch). Following is
// not limited: it holds a small batch and runs for as long as the partition
// stays.
//
// A restore with fewer records to read than ExemptBelow's bound takes no
// slot: it holds no more than its few records, and its time goes to
// latencies (the consumer's start, a fetch round trip), which a queue would
// add up: a processor with 64 partitions of three small tables was ready
// after 9.7 s with 8 restores at once, where all at once took 0.9 s.
//
// A nil *RestoreLimit limits nothing.
type RestoreLimit struct {
	slots   chan struct{}
	waiting atomic.Int64
	small   int64 // restores of fewer records take no slot
}

// NewRestoreLimit returns a limit of n restores at once; nil, no limit, when
// n is zero or less.
func NewRestoreLimit(n int) *RestoreLimit {
	if n <= 0 {
		return nil
	}
	return &RestoreLimit{slots: make(chan struct{}, n)}
}

// ExemptBelow lets restores of fewer than records records run without a
// slot, and returns l.
func (l *RestoreLimit) ExemptBelow(records int64) *RestoreLimit {
	if l != nil {
		l.small = records
	}
	return l
}

// exempt reports whether a restore of records records runs without a slot.
func (l *RestoreLimit) exempt(records int64) bool {
	return l == nil || records < l.small
}

// Limit returns the number of restores allowed at once; zero: no limit.
func (l *RestoreLimit) Limit() int {
	if l == nil {
		return 0
	}
	return cap(l.slots)
}

// Running returns the number of restores holding a slot.
func (l *RestoreLimit) Running() int {
	if l == nil {
		return 0
	}
	return len(l.slots)
}

// Waiting returns the number of restores waiting for a slot.
func (l *RestoreLimit) Waiting() int {
	if l == nil {
		return 0
	}
	return int(l.waiting.Load())
}

// acquire waits for a slot until ctx ends or stop is closed, and returns the
// function that gives it back; errStopped when either came first.
func (l *RestoreLimit) acquire(ctx context.Context, stop <-chan struct{}) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	default:
	}
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	case <-ctx.Done():
		return nil, errStopped
	case <-stop:
		return nil, errStopped
	}
}

func (l *RestoreLimit) release() { <-l.slots }
