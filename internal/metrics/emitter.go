package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// emitBuckets spans acknowledgements from 100µs to 6.5s.
var emitBuckets = prometheus.ExponentialBuckets(0.0001, 4, 9)

// Emitter is the metrics of one emitter; nil means metrics are off.
type Emitter struct {
	messages prometheus.Counter
	bytes    prometheus.Counter
	errors   prometheus.Counter
	latency  prometheus.Observer
}

// NewEmitter registers the emitter collectors in reg, or reuses those
// registered by an earlier emitter, and returns the handle of an emitter to
// topic. A nil reg returns a nil handle: metrics off.
func NewEmitter(reg prometheus.Registerer, topic string) (*Emitter, error) {
	if reg == nil {
		return nil, nil
	}
	labels := []string{labelTopic}
	messages, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goka_emitter_messages_emitted_total",
		Help: "Messages an emitter sent that Kafka acknowledged.",
	}, labels))
	if err != nil {
		return nil, err
	}
	bytes, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goka_emitter_emitted_bytes_total",
		Help: "Bytes of message values an emitter sent that Kafka acknowledged.",
	}, labels))
	if err != nil {
		return nil, err
	}
	errs, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goka_emitter_errors_total",
		Help: "Emits that failed: the value could not be encoded, or Kafka refused the message.",
	}, labels))
	if err != nil {
		return nil, err
	}
	latency, err := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goka_emitter_emit_duration_seconds",
		Help:    "Time from an emit until Kafka acknowledged or refused it.",
		Buckets: emitBuckets,
	}, labels))
	if err != nil {
		return nil, err
	}
	return &Emitter{
		messages: messages.WithLabelValues(topic),
		bytes:    bytes.WithLabelValues(topic),
		errors:   errs.WithLabelValues(topic),
		latency:  latency.WithLabelValues(topic),
	}, nil
}

// Begin returns the start of an emit on the monotonic clock, or zero when
// metrics are off.
func (m *Emitter) Begin() Instant {
	if m == nil {
		return 0
	}
	return now()
}

// Done records an emit of n bytes that started at begin and ended with err.
func (m *Emitter) Done(begin Instant, n int, err error) {
	if m == nil {
		return
	}
	m.latency.Observe(since(begin))
	if err != nil {
		m.errors.Inc()
		return
	}
	m.messages.Inc()
	m.bytes.Add(float64(n))
}

// Failed counts an emit that failed before it was sent.
func (m *Emitter) Failed() {
	if m == nil {
		return
	}
	m.errors.Inc()
}
