package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// latencyTarget is the bound on the p99 of view freshness at 100
// messages per second and of processor end-to-end latency at 1,000, on the
// embedded broker.
const latencyTarget = 20 * time.Millisecond

// seenTimeout bounds how long a run waits, once its writes have stopped,
// for the reader to see the last of them.
const seenTimeout = 30 * time.Second

// stamps record, for every message of a paced run, when its write was
// acknowledged and when the reader first saw it. The two come from
// different goroutines in either order: a consumer can receive a message
// before the producer has its acknowledgement.
type stamps struct {
	mu     sync.Mutex
	acked  []time.Time
	seen   []time.Time
	failed error
}

func (s *stamps) ack(seq int64, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = stamp(s.acked, seq, t)
}

func (s *stamps) see(seq int64, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(seq) < len(s.seen) && !s.seen[seq].IsZero() {
		return // a redelivery: the first sight counts
	}
	s.seen = stamp(s.seen, seq, t)
}

// fail keeps the first error of a writer or reader goroutine.
func (s *stamps) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = err
	}
}

func (s *stamps) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func stamp(ts []time.Time, seq int64, t time.Time) []time.Time {
	for int(seq) >= len(ts) {
		ts = append(ts, time.Time{})
	}
	ts[seq] = t
	return ts
}

// window returns the latencies of the messages acknowledged in [from, to):
// when each was seen minus when it was acknowledged, 0 for one seen before
// its acknowledgement arrived; and how many of them were not seen.
func (s *stamps) window(from, to time.Time) (lat []time.Duration, unseen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq, a := range s.acked {
		if a.IsZero() || a.Before(from) || !a.Before(to) {
			continue
		}
		if seq >= len(s.seen) || s.seen[seq].IsZero() {
			unseen++
			continue
		}
		lat = append(lat, max(s.seen[seq].Sub(a), 0))
	}
	return lat, unseen
}

// awaitSeen waits, for seenTimeout at most, until every message
// acknowledged in [from, to) has been seen.
func (s *stamps) awaitSeen(ctx context.Context, from, to time.Time) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	deadline := time.Now().Add(seenTimeout)
	for {
		if err := s.err(); err != nil {
			return err
		}
		_, unseen := s.window(from, to)
		if unseen == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d acknowledged messages not seen within %s of the last write", unseen, seenTimeout)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// awaitFirst waits, for seenTimeout at most, until messages 0 to n-1 have
// all been acknowledged and seen.
func (s *stamps) awaitFirst(ctx context.Context, n int) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	deadline := time.Now().Add(seenTimeout)
	for {
		if err := s.err(); err != nil {
			return err
		}
		missing := s.missing(n)
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of the first %d messages not acknowledged and seen within %s", missing, n, seenTimeout)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// missing counts the messages of 0 to n-1 not yet both acknowledged and seen.
func (s *stamps) missing(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	missing := 0
	for seq := range n {
		if seq >= len(s.acked) || s.acked[seq].IsZero() || seq >= len(s.seen) || s.seen[seq].IsZero() {
			missing++
		}
	}
	return missing
}

// pooled gathers the latencies of one measurement over several runs: a
// percentile of the pooled samples, not the best run's, is what a reader
// of a p99 expects.
type pooled struct {
	samples []time.Duration
	elapsed time.Duration
	mem     memStats
	runs    int
}

func (p *pooled) add(lat []time.Duration, elapsed time.Duration, mem memStats) {
	p.samples = append(p.samples, lat...)
	p.elapsed += elapsed
	if p.runs == 0 {
		p.mem = mem
	} else {
		p.mem.Peak = max(p.mem.Peak, mem.Peak)
		p.mem.PeakIsPhase = p.mem.PeakIsPhase && mem.PeakIsPhase
		p.mem.Delta = max(p.mem.Delta, mem.Delta)
	}
	p.runs++
}

// timing is the pooled samples as a row's figures: the rate is the
// messages measured over the time they were written in, which shows that
// the pacing held.
func (p *pooled) timing() timing {
	return timing{count: int64(len(p.samples)), elapsed: p.elapsed, lat: summarise(p.samples), mem: p.mem}
}

// interleave runs every step runs times, all of them once, then all again,
// so that each side of a comparison sees the same drift of a shared machine.
func interleave(runs int, steps ...func() error) error {
	for range max(runs, 1) {
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
	}
	return nil
}

// targetNote says whether the p99 of l is within latencyTarget, and gives
// the maximum, which the table leaves out.
func targetNote(what string, l *latency) string {
	if l == nil {
		return what + ": no samples"
	}
	verdict := "met"
	if l.P99 >= float64(latencyTarget)/float64(time.Millisecond) {
		verdict = "MISSED"
	}
	return fmt.Sprintf("%s p99 %s (max %s): target < %s %s", what, fmtMillis(l.P99), fmtMillis(l.Max), latencyTarget, verdict)
}
