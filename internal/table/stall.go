package table

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/IBM/sarama"
)

// A recovery whose consumer delivers nothing before the target is either
// stalled (a hung broker, a black-holed connection, a throttled fetch) or
// looking at offsets that hold no record a consumer receives: transaction
// markers, aborted records a read-committed consumer skips, offsets emptied
// by compaction. Both look the same from the consumer, and taking the first
// for the second loses records, so the recovery waits as long as it takes and
// ends early only on proof: Config.GapCheck looks at the missing offsets
// themselves. Meanwhile it logs that it waits, and the stats keep showing the
// partition Recovering, the offset reached and, after two minutes, Stalled.
//
// Time here is the monotonic clock, not Config.Now, which is the clock of the
// stats: a test that freezes the stats must not freeze the watch.

// GapCheck reports whether the offsets from from to to-1 of a partition hold
// no record a consumer would deliver: only transaction markers, records of
// aborted transactions the consumer skips, or offsets compaction emptied.
// noData is true only on proof; an offset it cannot see (a fetch that fails,
// a log that ends before to) is no proof. It may block for a Kafka round trip
// and should stop early when ctx ends. See SaramaGapCheck.
type GapCheck func(ctx context.Context, topic string, partition int32, from, to int64) (noData bool, err error)

// idleWatch is the state of the watch; the loop's goroutine alone touches
// it.
type idleWatch struct {
	seen       int64     // the last offset applied at the previous tick
	progressAt time.Time // when a record last came, or the loop started
	reportedAt time.Time // when the last progress line was logged

	checking  bool           // a gap check is running
	results   chan gapResult // its answer; buffered, so it never blocks
	nextCheck time.Time      // no check before
	backoff   time.Duration  // between checks that proved nothing
}

// gapResult is a gap check's answer about the offsets from from on.
type gapResult struct {
	from   int64
	noData bool
	err    error
}

// init starts the watch as if a record had just come: the consumer's start
// counts as progress.
func (w *idleWatch) init(last int64, now time.Time) {
	*w = idleWatch{seen: last, progressAt: now, reportedAt: now, results: make(chan gapResult, 1)}
}

// watchIdle runs at every tick of a recovery: it notices progress, logs
// while there is none and starts gap checks, whose answers the loop hands
// to gapChecked.
func (a *applier) watchIdle(now time.Time) {
	w, cfg := &a.idle, &a.p.cfg
	if a.last != w.seen {
		w.seen, w.progressAt, w.reportedAt = a.last, now, now
		w.backoff, w.nextCheck = 0, time.Time{}
	}
	idle := now.Sub(w.progressAt)
	if idle >= cfg.ProgressInterval && now.Sub(w.reportedAt) >= cfg.ProgressInterval {
		w.reportedAt = now
		cfg.Logf("table: topic %q partition %d: recovery has had no record for %s: last offset applied %d, recovering up to offset %d (consumer high-water mark %d); still waiting",
			cfg.Topic, cfg.Partition, idle.Round(time.Millisecond), a.last, a.target-1, a.pc.HighWaterMarkOffset())
	}
	if cfg.GapCheck != nil && !w.checking && idle >= cfg.IdleTimeout && !now.Before(w.nextCheck) {
		a.startGapCheck(a.last + 1)
	}
}

// startGapCheck asks, beside the loop, whether the offsets from from to the
// target hold data: a check is a Kafka round trip, which a stalled broker
// makes as long as the client's timeout, and the loop must keep reporting
// and take records meanwhile.
func (a *applier) startGapCheck(from int64) {
	w, cfg, to := &a.idle, a.p.cfg, a.target
	w.checking = true
	results := w.results
	a.checks.Add(1)
	go func() {
		defer a.checks.Done()
		r := gapResult{from: from}
		defer func() {
			if v := recover(); v != nil {
				r.noData, r.err = false, fmt.Errorf("gap check panicked: %v", v)
			}
			results <- r
		}()
		r.noData, r.err = cfg.GapCheck(a.checkCtx, cfg.Topic, cfg.Partition, from, to)
	}()
}

// gapChecked handles a check's answer: true when the gap is proven empty and
// the recovery may end; otherwise the next check comes after a backoff.
func (a *applier) gapChecked(r gapResult, now time.Time) bool {
	w, cfg := &a.idle, &a.p.cfg
	w.checking = false
	if r.from != a.last+1 {
		// Records came while it ran: the answer is about offsets already
		// applied. A new check follows if the consumer goes idle again.
		return false
	}
	if r.err == nil && r.noData {
		cfg.Logf("table: topic %q partition %d: offsets %d to %d hold no data record (transaction markers, or records the consumer skips or compaction removed), "+
			"as the gap check showed after %s without a record; recovery ends at offset %d",
			cfg.Topic, cfg.Partition, r.from, a.target-1, now.Sub(w.progressAt).Round(time.Millisecond), a.last)
		return true
	}
	w.backoff = min(max(2*w.backoff, cfg.IdleTimeout), max(maxCheckBackoff, cfg.IdleTimeout))
	w.nextCheck = now.Add(w.backoff)
	if r.err != nil {
		cfg.Logf("table: topic %q partition %d: cannot tell yet whether offsets %d to %d hold records: %v; checking again in %s",
			cfg.Topic, cfg.Partition, r.from, a.target-1, r.err, w.backoff)
	} else {
		cfg.Logf("table: topic %q partition %d: offsets %d to %d hold records the consumer has not delivered yet; checking again in %s",
			cfg.Topic, cfg.Partition, r.from, a.target-1, w.backoff)
	}
	return false
}

// retriedByConsumer reports, during recovery, a consumer error that only
// says a request to the broker timed out: sarama's consumer reports it and
// then reconnects and fetches again from the same offset by itself. A hung
// broker or a black-holed connection shows that way once per Net.ReadTimeout;
// the recovery keeps waiting through it, as through a fetch that hangs, and
// stays Recovering instead of starting over. Every other error ends it.
func (a *applier) retriedByConsumer(cerr *sarama.ConsumerError) bool {
	if a.target < 0 || cerr == nil {
		return false
	}
	var ne net.Error
	if !errors.As(cerr.Err, &ne) || !ne.Timeout() {
		return false
	}
	a.p.cfg.Logf("table: topic %q partition %d: recovery at offset %d: %v; the consumer retries, the recovery keeps waiting",
		a.p.cfg.Topic, a.p.cfg.Partition, a.last+1, cerr.Err)
	return true
}
