package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// View is the metrics of one view; nil means metrics are off.
type View struct {
	c     *viewCollector
	topic string
}

// NewView registers the view collector in reg, or reuses the one registered
// by an earlier view, and returns the handle of the view of topic. A nil
// reg returns a nil handle: metrics off.
func NewView(reg prometheus.Registerer, topic string) (*View, error) {
	if reg == nil {
		return nil, nil
	}
	c, err := register(reg, newViewCollector())
	if err != nil {
		return nil, err
	}
	return &View{c: c, topic: topic}, nil
}

// Watch makes a partition of the view visible to scrapes until stop is
// called. stop is idempotent.
func (m *View) Watch(partition int32, t TableStats) (stop func()) {
	if m == nil {
		return func() {}
	}
	return m.c.watch(viewKey{m.topic, partition}, &viewSource{t})
}

type viewKey struct {
	topic     string
	partition int32
}

// viewSource gives each Watch its own identity, so stop removes that one.
type viewSource struct{ t TableStats }

// viewCollector computes the view gauges when scraped.
type viewCollector struct {
	state    *prometheus.Desc
	lag      *prometheus.Desc
	progress *prometheus.Desc
	duration *prometheus.Desc
	messages *prometheus.Desc
	bytes    *prometheus.Desc

	mu      sync.Mutex
	sources map[viewKey][]*viewSource
}

func newViewCollector() *viewCollector {
	tp := []string{labelTopic, labelPartition}
	return &viewCollector{
		state: prometheus.NewDesc("goka_view_partition_state",
			"State of a view partition: 0 stopped, 1 initializing, 2 connecting, 3 recovering, 4 preparing, 5 running (goka's PartitionStatus).",
			tp, nil),
		lag: prometheus.NewDesc("goka_view_partition_lag",
			"Records of a table partition the view has not applied yet: the consumer's high-water mark - 1 - the last offset applied.",
			tp, nil),
		progress: prometheus.NewDesc("goka_view_recovery_progress",
			"How far the last restore of a view partition got, from 0 to 1: offset restored / high-water mark; 1 once recovered.",
			tp, nil),
		duration: prometheus.NewDesc("goka_view_recovery_duration_seconds",
			"Duration of the last restore of a view partition, or of the restore running now.",
			tp, nil),
		messages: prometheus.NewDesc("goka_view_messages_consumed_total",
			"Records of a table partition applied by the view since it started.",
			tp, nil),
		bytes: prometheus.NewDesc("goka_view_consumed_bytes_total",
			"Bytes of record values of a table partition applied by the view since it started.",
			tp, nil),
		sources: make(map[viewKey][]*viewSource),
	}
}

// Describe sends the descriptors of the view gauges.
func (c *viewCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.lag, c.progress, c.duration, c.messages, c.bytes} {
		ch <- d
	}
}

func (c *viewCollector) watch(key viewKey, src *viewSource) (stop func()) {
	c.mu.Lock()
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

// Collect reads every watched partition. Two views of one table on one
// registry (a view and a processor's lookup of the same table) give one
// series: the first view's.
func (c *viewCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	keys := make([]viewKey, 0, len(c.sources))
	srcs := make([]*viewSource, 0, len(c.sources))
	for key, s := range c.sources {
		keys = append(keys, key)
		srcs = append(srcs, s[0])
	}
	c.mu.Unlock()

	now := time.Now()
	for i, key := range keys {
		s := srcs[i].t.Stats()
		topic, part := key.topic, partitionLabel(key.partition)
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, float64(s.Status), topic, part)
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(s.Input.OffsetLag), topic, part)
		ch <- prometheus.MustNewConstMetric(c.progress, prometheus.GaugeValue, recoveryProgress(s), topic, part)
		if d, ok := recoveryDuration(s, now); ok {
			ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, d, topic, part)
		}
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.CounterValue, float64(s.Input.Count), topic, part)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(s.Input.Bytes), topic, part)
	}
}
