package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Mode is how a partition runs; active and passive partitions are counted
// by goka_processor_partitions.
type Mode int

// The modes of a partition, in order of precedence when two instances of a
// group on one registry report the same partition.
const (
	// ModeActive: the partition is assigned and processes its input.
	ModeActive Mode = iota
	// ModePassive: hot standby, the partition only follows its table.
	ModePassive
	// ModeRecover: the partition warms its store before the group is
	// joined (recover ahead); it is not counted as assigned.
	ModeRecover
)

// String is the mode label value.
func (m Mode) String() string {
	switch m {
	case ModeActive:
		return "active"
	case ModePassive:
		return "passive"
	default:
		return "recover"
	}
}

// Source is what a scrape reads from a running partition. Its fields must
// not change once it is watched.
type Source struct {
	Mode Mode
	// Lags reports the consumer lag of every input topic whose lag is
	// known, each topic once; nil when there is none.
	Lags func(report func(topic string, lag int64))
	// Tables are the group table and the joined tables of the partition,
	// by topic.
	Tables map[string]TableStats
	// OldestDeferred returns how long the oldest deferred commit of the
	// partition has not been released, zero when none is pending; nil for
	// a partition that runs no callback.
	OldestDeferred func() time.Duration
}

type partitionKey struct {
	group     string
	partition int32
}

// processorCollector computes the state gauges of processors when scraped.
type processorCollector struct {
	lag        *prometheus.Desc
	partitions *prometheus.Desc
	progress   *prometheus.Desc
	duration   *prometheus.Desc
	tableLag   *prometheus.Desc
	deferred   *prometheus.Desc
	rowCache   *prometheus.Desc

	mu      sync.Mutex
	groups  map[string]struct{}
	sources map[partitionKey][]*Source
	// rowCaches read the bytes held by the row cache of each group.
	rowCaches map[string]func() int64
}

func newProcessorCollector() *processorCollector {
	gtp := []string{labelGroup, labelTopic, labelPartition}
	return &processorCollector{
		lag: prometheus.NewDesc("goka_processor_consumer_lag",
			"Messages of an input topic partition not yet processed: the consumer's high-water mark - 1 - the offset of the last message processed, read at scrape time.",
			gtp, nil),
		partitions: prometheus.NewDesc("goka_processor_partitions",
			"Partitions a processor instance holds, by mode: active (assigned) or passive (hot standby).",
			[]string{labelGroup, labelMode}, nil),
		progress: prometheus.NewDesc("goka_processor_table_recovery_progress",
			"How far the last restore of a table partition got, from 0 to 1: offset restored / high-water mark; 1 once recovered.",
			gtp, nil),
		duration: prometheus.NewDesc("goka_processor_table_recovery_duration_seconds",
			"Duration of the last restore of a table partition, or of the restore running now.",
			gtp, nil),
		tableLag: prometheus.NewDesc("goka_processor_table_lag",
			"Records of a table partition not yet applied to the local copy (joined and hot-standby tables while they follow).",
			gtp, nil),
		deferred: prometheus.NewDesc("goka_processor_oldest_deferred_commit_seconds",
			"Age of the oldest commit a callback of the partition deferred (Context.DeferCommit) and has not released, 0 when none: the partition commits nothing from that message on until it is released.",
			[]string{labelGroup, labelPartition}, nil),
		rowCache: prometheus.NewDesc("goka_processor_row_cache_bytes",
			"Bytes held by the row cache of a processor's partitions, against its WithRowCacheBytes bound.",
			[]string{labelGroup}, nil),
		groups:    make(map[string]struct{}),
		sources:   make(map[partitionKey][]*Source),
		rowCaches: make(map[string]func() int64),
	}
}

// Describe sends the descriptors of the state gauges.
func (c *processorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lag, c.partitions, c.progress, c.duration, c.tableLag, c.deferred, c.rowCache} {
		ch <- d
	}
}

// addGroup makes the partitions gauge of group appear, at zero while the
// group holds no partition.
func (c *processorCollector) addGroup(group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.groups[group] = struct{}{}
}

// watchRowCache makes the row cache of group visible to scrapes; a later
// call for the same group replaces it.
func (c *processorCollector) watchRowCache(group string, bytes func() int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rowCaches[group] = bytes
}

func (c *processorCollector) watch(group string, partition int32, src *Source) (stop func()) {
	key := partitionKey{group, partition}
	c.mu.Lock()
	c.groups[group] = struct{}{}
	c.sources[key] = append(c.sources[key], src)
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			srcs := c.sources[key]
			for i, s := range srcs {
				if s == src {
					srcs = append(srcs[:i:i], srcs[i+1:]...)
					break
				}
			}
			if len(srcs) == 0 {
				delete(c.sources, key)
			} else {
				c.sources[key] = srcs
			}
		})
	}
}

type watched struct {
	key partitionKey
	src *Source
}

// Collect reads every watched partition. Two sources of one group and
// partition (two instances in one process, or a handover in progress) give
// one series: the active one's.
func (c *processorCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	counts := make(map[string]*[ModeRecover]int, len(c.groups))
	for g := range c.groups {
		counts[g] = new([ModeRecover]int)
	}
	rowCaches := make(map[string]func() int64, len(c.rowCaches))
	for g, bytes := range c.rowCaches {
		rowCaches[g] = bytes
	}
	chosen := make([]watched, 0, len(c.sources))
	for key, srcs := range c.sources {
		best := srcs[0]
		for _, s := range srcs[1:] {
			if s.Mode < best.Mode {
				best = s
			}
		}
		chosen = append(chosen, watched{key, best})
		if best.Mode < ModeRecover {
			counts[key.group][best.Mode]++
		}
	}
	c.mu.Unlock()

	// The sources are read without c.mu: they take their own locks.
	for g, n := range counts {
		for mode := ModeActive; mode < ModeRecover; mode++ {
			ch <- prometheus.MustNewConstMetric(c.partitions, prometheus.GaugeValue, float64(n[mode]), g, mode.String())
		}
	}
	for g, bytes := range rowCaches {
		ch <- prometheus.MustNewConstMetric(c.rowCache, prometheus.GaugeValue, float64(bytes()), g)
	}
	now := time.Now()
	for _, w := range chosen {
		group, part := w.key.group, partitionLabel(w.key.partition)
		if w.src.OldestDeferred != nil {
			ch <- prometheus.MustNewConstMetric(c.deferred, prometheus.GaugeValue, w.src.OldestDeferred().Seconds(), group, part)
		}
		if w.src.Lags != nil {
			w.src.Lags(func(topic string, lag int64) {
				ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(lag), group, topic, part)
			})
		}
		for topic, t := range w.src.Tables {
			s := t.Stats()
			ch <- prometheus.MustNewConstMetric(c.progress, prometheus.GaugeValue, recoveryProgress(s), group, topic, part)
			if d, ok := recoveryDuration(s, now); ok {
				ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, d, group, topic, part)
			}
			ch <- prometheus.MustNewConstMetric(c.tableLag, prometheus.GaugeValue, float64(s.Input.OffsetLag), group, topic, part)
		}
	}
}
