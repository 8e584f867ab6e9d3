package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// ErrorKind is the kind label of goka_processor_errors_total.
type ErrorKind string

// The kinds of processor errors.
const (
	// ErrProcessing: a callback failed or panicked, a message could not be
	// decoded, or a deferred commit was released with an error.
	ErrProcessing ErrorKind = "processing"
	// ErrEmit: Kafka refused an emit, a loopback or a table write.
	ErrEmit ErrorKind = "emit"
	// ErrSetup: a consumer group session could not start its partitions
	// (restoring a table failed, the claims were not co-partitioned).
	ErrSetup ErrorKind = "setup"
	// ErrTable: following a joined or hot-standby table failed; it is
	// retried with backoff.
	ErrTable ErrorKind = "table"
)

var errorKinds = []ErrorKind{ErrProcessing, ErrEmit, ErrSetup, ErrTable}

// callbackBuckets spans callbacks from 10µs to 2.6s.
var callbackBuckets = prometheus.ExponentialBuckets(0.00001, 4, 10)

// processorSet is the collectors every processor on a registry shares.
type processorSet struct {
	consumed      *prometheus.CounterVec
	consumedBytes *prometheus.CounterVec
	emitted       *prometheus.CounterVec
	emittedBytes  *prometheus.CounterVec
	callback      *prometheus.HistogramVec
	rebalances    *prometheus.CounterVec
	errors        *prometheus.CounterVec
	offsetResets  *prometheus.CounterVec
	retried       *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	deadLettered  *prometheus.CounterVec
	state         *processorCollector
}

func registerProcessorSet(reg prometheus.Registerer) (*processorSet, error) {
	gtp := []string{labelGroup, labelTopic, labelPartition}
	s := &processorSet{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goka_processor_messages_consumed_total",
			Help: "Messages taken from an input topic (streams and the loop) by a partition of a processor.",
		}, gtp),
		consumedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goka_processor_consumed_bytes_total",
			Help: "Bytes of message values taken from an input topic by a partition of a processor.",
		}, gtp),
		emitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goka_processor_messages_emitted_total",
			Help: "Messages sent by the callbacks of a partition (emits, loopbacks, group table writes), by destination topic.",
		}, gtp),
		emittedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goka_processor_emitted_bytes_total",
			Help: "Bytes of message values sent by the callbacks of a partition, by destination topic.",
		}, gtp),
		callback: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "goka_processor_callback_duration_seconds",
			Help:    "Time a callback ran for one message, by input topic.",
			Buckets: callbackBuckets,
		}, []string{labelGroup, labelTopic}),
		rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goka_processor_rebalances_total",
			Help: "Consumer group sessions started by a processor instance: one per rebalance.",
		}, []string{labelGroup}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goka_processor_errors_total",
			Help: "Errors of a processor by kind: processing, emit, setup, table.",
		}, []string{labelGroup, labelKind}),
		offsetResets: newOffsetResets(),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goka_processor_message_retries_total",
			Help: "Callback calls retried by the error policy of an input topic after a message failed.",
		}, gtp),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goka_processor_messages_skipped_total",
			Help: "Failed messages of an input topic that its error policy skipped.",
		}, gtp),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "goka_processor_messages_dead_lettered_total",
			Help: "Failed messages of an input topic that its error policy wrote to the dead-letter topic (counted once acknowledged).",
		}, gtp),
		state: newProcessorCollector(),
	}
	var err error
	for _, v := range []**prometheus.CounterVec{&s.consumed, &s.consumedBytes, &s.emitted, &s.emittedBytes, &s.rebalances, &s.errors, &s.offsetResets, &s.retried, &s.skipped, &s.deadLettered} {
		if *v, err = register(reg, *v); err != nil {
			return nil, err
		}
	}
	if s.callback, err = register(reg, s.callback); err != nil {
		return nil, err
	}
	if s.state, err = register(reg, s.state); err != nil {
		return nil, err
	}
	return s, nil
}

// Processor is the metrics of one processor; nil means metrics are off.
type Processor struct {
	set        *processorSet
	group      string
	rebalances prometheus.Counter
	errors     map[ErrorKind]prometheus.Counter
}

// NewProcessor registers the processor collectors in reg, or reuses those
// registered by an earlier processor, and returns the handle of group. A
// nil reg returns a nil handle: metrics off.
func NewProcessor(reg prometheus.Registerer, group string) (*Processor, error) {
	if reg == nil {
		return nil, nil
	}
	set, err := registerProcessorSet(reg)
	if err != nil {
		return nil, err
	}
	m := &Processor{
		set:        set,
		group:      group,
		rebalances: set.rebalances.WithLabelValues(group),
		errors:     make(map[ErrorKind]prometheus.Counter, len(errorKinds)),
	}
	// Resolved up front so every series exists, at zero, from the start.
	for _, kind := range errorKinds {
		m.errors[kind] = set.errors.WithLabelValues(group, string(kind))
	}
	set.state.addGroup(group)
	return m, nil
}

// WatchRowCache makes scrapes read the bytes the processor's row cache
// holds from bytes.
func (m *Processor) WatchRowCache(bytes func() int64) {
	if m == nil {
		return
	}
	m.set.state.watchRowCache(m.group, bytes)
}

// Rebalanced counts a consumer group session.
func (m *Processor) Rebalanced() {
	if m == nil {
		return
	}
	m.rebalances.Inc()
}

// Error counts an error of kind.
func (m *Processor) Error(kind ErrorKind) {
	if m == nil {
		return
	}
	c, ok := m.errors[kind]
	if !ok {
		c = m.set.errors.WithLabelValues(m.group, string(kind))
	}
	c.Inc()
}

// Partition returns the handle of one partition, with the children of its
// input and output topics resolved, so counting a message is a map lookup
// and atomic adds. It is nil when m is.
func (m *Processor) Partition(partition int32, inputs, outputs []string) *Partition {
	if m == nil {
		return nil
	}
	label := partitionLabel(partition)
	p := &Partition{
		m:         m,
		partition: partition,
		label:     label,
		inputs:    make(map[string]*inputMetrics, len(inputs)),
		outputs:   make(map[string]*outputMetrics, len(outputs)),
	}
	for _, topic := range inputs {
		p.inputs[topic] = m.input(topic, label)
	}
	for _, topic := range outputs {
		p.outputs[topic] = m.output(topic, label)
	}
	return p
}

func (m *Processor) input(topic, partition string) *inputMetrics {
	return &inputMetrics{
		messages: m.set.consumed.WithLabelValues(m.group, topic, partition),
		bytes:    m.set.consumedBytes.WithLabelValues(m.group, topic, partition),
		callback: m.set.callback.WithLabelValues(m.group, topic),
		retried:  m.set.retried.WithLabelValues(m.group, topic, partition),
		skipped:  m.set.skipped.WithLabelValues(m.group, topic, partition),
		dead:     m.set.deadLettered.WithLabelValues(m.group, topic, partition),
	}
}

func (m *Processor) output(topic, partition string) *outputMetrics {
	return &outputMetrics{
		messages: m.set.emitted.WithLabelValues(m.group, topic, partition),
		bytes:    m.set.emittedBytes.WithLabelValues(m.group, topic, partition),
	}
}

type inputMetrics struct {
	messages, bytes prometheus.Counter
	callback        prometheus.Observer
	// What the input's error policy did (see Partition.Retried).
	retried, skipped, dead prometheus.Counter
}

type outputMetrics struct {
	messages, bytes prometheus.Counter
}

// Partition is the metrics of one partition of a processor; nil means
// metrics are off. Its maps are written only by Processor.Partition, so it
// is safe for concurrent use.
type Partition struct {
	m         *Processor
	partition int32
	label     string
	inputs    map[string]*inputMetrics
	outputs   map[string]*outputMetrics
}

// Consumed counts a message of an input topic with a value of n bytes.
func (p *Partition) Consumed(topic string, n int) {
	if p == nil {
		return
	}
	in, ok := p.inputs[topic]
	if !ok {
		in = p.m.input(topic, p.label)
	}
	in.messages.Inc()
	in.bytes.Add(float64(n))
}

// Emitted counts a message sent to topic with a value of n bytes.
func (p *Partition) Emitted(topic string, n int) {
	if p == nil {
		return
	}
	out, ok := p.outputs[topic]
	if !ok {
		out = p.m.output(topic, p.label)
	}
	out.messages.Inc()
	out.bytes.Add(float64(n))
}

// Retried counts a callback call the error policy of topic retried.
func (p *Partition) Retried(topic string) {
	if in := p.in(topic); in != nil {
		in.retried.Inc()
	}
}

// Skipped counts a message of topic the error policy skipped.
func (p *Partition) Skipped(topic string) {
	if in := p.in(topic); in != nil {
		in.skipped.Inc()
	}
}

// DeadLettered counts a message of topic the error policy wrote to the
// dead-letter topic.
func (p *Partition) DeadLettered(topic string) {
	if in := p.in(topic); in != nil {
		in.dead.Inc()
	}
}

// in returns the metrics of an input topic; nil when metrics are off.
func (p *Partition) in(topic string) *inputMetrics {
	if p == nil {
		return nil
	}
	in, ok := p.inputs[topic]
	if !ok {
		in = p.m.input(topic, p.label)
	}
	return in
}

// Error counts an error of kind for the partition's processor.
func (p *Partition) Error(kind ErrorKind) {
	if p == nil {
		return
	}
	p.m.Error(kind)
}

// Begin returns the start of a callback on the monotonic clock, or zero
// when metrics are off, so that no clock is read then.
func (p *Partition) Begin() Instant {
	if p == nil {
		return 0
	}
	return now()
}

// CallbackDone observes the duration of a callback of topic that started at
// begin.
func (p *Partition) CallbackDone(topic string, begin Instant) {
	if p == nil {
		return
	}
	in, ok := p.inputs[topic]
	if !ok {
		in = p.m.input(topic, p.label)
	}
	in.callback.Observe(since(begin))
}

// Watch makes the partition visible to scrapes, which read its lags and
// tables from src, until stop is called. stop is idempotent.
func (p *Partition) Watch(src *Source) (stop func()) {
	if p == nil {
		return func() {}
	}
	return p.m.set.state.watch(p.m.group, p.partition, src)
}
