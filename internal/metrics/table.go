package metrics

import (
	"time"

	"github.com/seed-b2c684ed/goka/internal/table"
)

// TableStats is a table partition as a scrape reads it; *table.Partition
// satisfies it.
type TableStats interface {
	Stats() table.Stats
}

// recoveryProgress is how far the last restore got, from 0 (not started) to
// 1 (done): the offset restored over the high-water mark it restores to.
func recoveryProgress(s table.Stats) float64 {
	switch {
	case !s.Recovery.RecoveryTime.IsZero():
		return 1
	case s.Recovery.StartTime.IsZero():
		return 0
	case s.Recovery.Hwm <= 0:
		return 1
	}
	return min(max(float64(s.Recovery.Offset+1)/float64(s.Recovery.Hwm), 0), 1)
}

// recoveryDuration is how long the last restore took, or has taken so far
// while it runs; ok is false before any restore started.
func recoveryDuration(s table.Stats, now time.Time) (seconds float64, ok bool) {
	switch {
	case s.Recovery.StartTime.IsZero():
		return 0, false
	case s.Recovery.RecoveryTime.IsZero():
		return now.Sub(s.Recovery.StartTime).Seconds(), true
	}
	return s.Recovery.RecoveryTime.Sub(s.Recovery.StartTime).Seconds(), true
}
