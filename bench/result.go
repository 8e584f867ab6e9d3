package main

import (
	"math"
	"slices"
	"time"
)

// result is one row of the report: the library's figure for a workload and
// the raw clients' figures it is compared with.
type result struct {
	Name  string  `json:"name"`
	Unit  string  `json:"unit"` // "msgs/s" or "ops/s"
	Rate  float64 `json:"rate"`
	Count int64   `json:"count"`
	// Seconds is the measured time the rate is Count over.
	Seconds float64 `json:"seconds"`
	// Latency is set where single operations are timed.
	Latency *latency `json:"latency,omitempty"`
	Mem     memStats `json:"mem"`
	// Baselines come first to last in the order the report shows them; the
	// first is the one the target ratio refers to.
	Baselines []baseline `json:"baselines,omitempty"`
	// Note says what was measured, where the name does not.
	Note string `json:"note,omitempty"`
	// Err is set when the workload failed; the figures are then void.
	Err string `json:"error,omitempty"`
}

// baseline is a raw client doing the same work as the library.
type baseline struct {
	Name    string   `json:"name"`
	Rate    float64  `json:"rate"`
	Count   int64    `json:"count"`
	Seconds float64  `json:"seconds"`
	Latency *latency `json:"latency,omitempty"`
	Mem     memStats `json:"mem"`
	// Ratio is the library's rate over this one's; above 1 the library is
	// faster.
	Ratio float64 `json:"ratio"`
}

// latency summarises timed single operations, in milliseconds.
type latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// timing is the outcome of one measured phase.
type timing struct {
	count   int64
	elapsed time.Duration
	lat     *latency
	mem     memStats
}

func (t timing) rate() float64 {
	if t.elapsed <= 0 {
		return 0
	}
	return float64(t.count) / t.elapsed.Seconds()
}

// newResult makes a row of the library's phase.
func newResult(name, unit string, t timing) result {
	return result{Name: name, Unit: unit, Rate: t.rate(), Count: t.count, Seconds: t.elapsed.Seconds(), Latency: t.lat, Mem: t.mem}
}

// addBaseline appends a baseline and its ratio to r.
func (r *result) addBaseline(name string, t timing) {
	b := baseline{Name: name, Rate: t.rate(), Count: t.count, Seconds: t.elapsed.Seconds(), Latency: t.lat, Mem: t.mem}
	b.Ratio = ratio(r.Rate, b.Rate)
	r.Baselines = append(r.Baselines, b)
}

// Suffixes of the two runs of a raw client in addBaselinePair.
const (
	withDefaults = " (sarama defaults)"
	withLibrary  = " (library config)"
)

// addBaselinePair adds a raw client measured twice in the same run, with
// sarama's defaults and with the library's configuration, the faster first:
// the first baseline is the one a target ratio refers to, and the honest
// limit is what the client reaches at its best, not with the library's
// settings.
func (r *result) addBaselinePair(name string, defaults, library timing) {
	if library.rate() > defaults.rate() {
		r.addBaseline(name+withLibrary, library)
		r.addBaseline(name+withDefaults, defaults)
		return
	}
	r.addBaseline(name+withDefaults, defaults)
	r.addBaseline(name+withLibrary, library)
}

// ratio is a/b, NaN-free: 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0
	}
	return a / b
}

// summarise returns the nearest-rank percentiles of samples; nil for none.
func summarise(samples []time.Duration) *latency {
	if len(samples) == 0 {
		return nil
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return &latency{N: len(s), P50: ms(percentile(s, 50)), P99: ms(percentile(s, 99)), Max: ms(s[len(s)-1])}
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted s.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
