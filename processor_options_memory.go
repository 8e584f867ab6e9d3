package goka

import (
	"fmt"
	"runtime"
	"time"

	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/internal/tablecache"
)

// defaultDeferredCommitWarning is how old a deferred commit gets before the
// processor warns about it: far beyond the seconds an asynchronous call
// behind DeferCommit normally takes (an HTTP request with its retries), and
// short enough to be noticed before the partition's uncommitted messages
// pile up for hours.
const defaultDeferredCommitWarning = time.Minute

// memoryOptions are the bounds on what a processor holds in memory, set by
// the options of this file; zero values take the defaults.
type memoryOptions struct {
	rowCacheBytes         int64
	restoreConcurrency    int
	deferredCommitWarning time.Duration
	// smallRestore: restores of fewer records take no restore slot; zero
	// takes defaultSmallRestore, negative exempts none (for tests of the
	// limit on small tables).
	smallRestore int64
}

// defaultSmallRestore is the size, in records, below which a restore runs
// beside the limit: two batches' worth, no more memory than a restore
// holds, and its time is latency, not work (see table.RestoreLimit).
const defaultSmallRestore = 2 * table.DefaultMaxBatchRecords

// restoresPerCore is how many restores run at once per core the Go
// scheduler uses, by default. A restore spends most of its time waiting for
// the broker: a fetch round trip per 256 KiB, and up to one
// Consumer.MaxWaitTime (500 ms) when it starts beside partitions that
// already follow, since their long poll holds up its first fetch. Measured
// on the embedded broker, a view restoring 32 partitions of 8 MiB used half
// a core at most; on 2 cores 2 restores at once took 6.7-9.5 s, 8 took
// 2.3-3.3 s, all 32 2.0-2.8 s, and peak RSS was 430-460 MiB, 440 MiB and
// 620-690 MiB; a processor restoring the same table with WithRecoverAhead
// was ready after 9.6-10.0 s, 2.0-2.4 s and 1.6-1.8 s, at 490-500, 450-490
// and 650-710 MiB. Four per core keep the cores about as busy as all at
// once, without the memory of all at once.
const restoresPerCore = 4

// defaultRestoreConcurrency is the number of table partitions restored at
// once by default.
func defaultRestoreConcurrency() int {
	return restoresPerCore * runtime.GOMAXPROCS(0)
}

// WithRowCacheBytes bounds the memory of the processor's row cache, which
// keeps the group table rows its callbacks read and write in front of the
// local store (written to the store in batches, and before a partition
// stops). The bound is shared by all partitions of the processor: one that
// writes many keys takes memory from those that sit idle. When it is
// reached, rows are dropped, largest caches first, their changes written to
// the store before. A row costs its key and value plus about 100 bytes.
// Default: 64 MiB, the working set of most processors many times over (a
// processor rewrites the same hot keys) and small beside what LevelDB holds
// per open store; zero takes the default. Raise it for a processor whose
// callbacks read far more distinct keys than they repeat.
func WithRowCacheBytes(n int64) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.memory.rowCacheBytes = n }
}

// WithRestoreConcurrency bounds how many table partitions the processor
// restores from Kafka at once: the group table and the joins of the
// assigned partitions, the partitions restored by WithRecoverAhead and
// those kept by WithHotStandby, and the partitions of its lookup tables.
// The others wait for their turn. A restore holds a batch of up to 4 MiB
// being filled, one being written and the consumer's fetch buffers while it
// runs, so a processor that restored 64 partitions of three tables at once
// held some 200 of each. A restore of fewer than 8192 records runs without
// waiting: it holds little, and queueing restores whose time is latency
// made 192 small ones take ten times as long. Default: four per core
// (4 * GOMAXPROCS): a restore mostly waits for the broker, and four per core
// restore as fast as all at once; zero takes the default.
func WithRestoreConcurrency(n int) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.memory.restoreConcurrency = n }
}

// WithDeferredCommitWarning sets how old a commit deferred by
// Context.DeferCommit may get before the processor logs a warning naming
// the message (topic, partition, offset, key) and its age. A deferred
// commit that is never released holds back the committed offset of its
// partition, and every later message of it stays uncommitted and tracked in
// memory; the warning and the metric goka_processor_oldest_deferred_commit_seconds
// (see WithMetrics) make that visible. Default: one minute; zero takes the
// default, a negative duration turns the warning off (the metric stays).
func WithDeferredCommitWarning(after time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.memory.deferredCommitWarning = after }
}

// resolve fills the defaults and rejects what cannot work.
func (m *memoryOptions) resolve(group Group) error {
	if m.rowCacheBytes < 0 {
		return fmt.Errorf("processor %q: negative row cache size %d (WithRowCacheBytes)", group, m.rowCacheBytes)
	}
	if m.restoreConcurrency < 0 {
		return fmt.Errorf("processor %q: negative restore concurrency %d (WithRestoreConcurrency)", group, m.restoreConcurrency)
	}
	if m.rowCacheBytes == 0 {
		m.rowCacheBytes = tablecache.DefaultBudgetBytes
	}
	if m.restoreConcurrency == 0 {
		m.restoreConcurrency = defaultRestoreConcurrency()
	}
	if m.deferredCommitWarning == 0 {
		m.deferredCommitWarning = defaultDeferredCommitWarning
	}
	return nil
}

// memoryBounds are what a processor builds from its memoryOptions and its
// partitions share.
type memoryBounds struct {
	rows     *tablecache.Budget
	restores *table.RestoreLimit
}

func newMemoryBounds(m memoryOptions) memoryBounds {
	return memoryBounds{rows: tablecache.NewBudget(m.rowCacheBytes), restores: newRestoreLimit(m.restoreConcurrency, m.smallRestore)}
}

// newRestoreLimit returns a limit of n restores at once, which restores of
// fewer than small records pass; zeros take the defaults.
func newRestoreLimit(n int, small int64) *table.RestoreLimit {
	if n == 0 {
		n = defaultRestoreConcurrency()
	}
	if small == 0 {
		small = defaultSmallRestore
	}
	return table.NewRestoreLimit(n).ExemptBelow(small)
}
