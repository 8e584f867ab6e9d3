package engine

import (
	"fmt"
	"time"

	"github.com/seed-b2c684ed/goka/internal/commit"
)

// newDeferredWatch returns the watch of the partition's deferred commits
// (see commit.Watch): it warns through the partition's log once one is
// older than Config.DeferredCommitWarning.
func (p *Partition) newDeferredWatch() *commit.Watch {
	return commit.NewWatch(p.cfg.DeferredCommitWarning, func(o commit.Overdue) {
		d := o.Oldest
		more := ""
		if o.More > 0 {
			more = fmt.Sprintf("; %d later deferred commits of the partition are that old too", o.More)
		}
		p.log.Printf("Warning: a deferred commit has not been released for %v (topic=%s, partition=%d, offset=%d, key=%q): "+
			"the partition commits nothing from this message on until the function DeferCommit returned is called%s",
			o.Age.Round(time.Millisecond), d.Topic, d.Partition, d.Offset, d.Key, more)
	})
}

// oldestDeferred is the age of the partition's oldest deferred commit not
// released, zero when none, for goka_processor_oldest_deferred_commit_seconds.
func (p *Partition) oldestDeferred() time.Duration {
	_, age, _ := p.deferred.Oldest()
	return age
}
