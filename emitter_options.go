package goka

import (
	"fmt"
	"hash"

	"github.com/prometheus/client_golang/prometheus"
)

// EmitterOption configures an Emitter in NewEmitter. Options are applied in
// order, so a later option overrides an earlier one.
type EmitterOption func(*eoptions, Stream, Codec)

// eoptions is the emitter's configuration, filled with defaults by
// newEmitterOptions and then changed by the options.
type eoptions struct {
	log      logger
	clientID string
	hasher   func() hash.Hash32

	defaultHeaders Headers
	// metrics is where the emitter registers its collectors; nil: none.
	metrics prometheus.Registerer

	builders struct {
		topicmgr TopicManagerBuilder
		producer ProducerBuilder
	}
}

func newEmitterOptions(topic Stream, codec Codec, options []EmitterOption) *eoptions {
	opts := &eoptions{
		log:      wrapLogger(nil),
		clientID: fmt.Sprintf("goka-emitter-%s", topic),
		hasher:   DefaultHasher(),
	}
	opts.builders.topicmgr = DefaultTopicManagerBuilder
	opts.builders.producer = DefaultProducerBuilder
	for _, option := range options {
		option(opts, topic, codec)
	}
	return opts
}

// WithEmitterLogger sets the logger. Default: DefaultLogger(). The emitter
// logs nothing today; the option exists for goka compatibility.
func WithEmitterLogger(l Logger) EmitterOption {
	return func(o *eoptions, _ Stream, _ Codec) {
		o.log = wrapLogger(l)
	}
}

// WithEmitterClientID sets the Kafka client ID. Default:
// "goka-emitter-<topic>".
func WithEmitterClientID(clientID string) EmitterOption {
	return func(o *eoptions, _ Stream, _ Codec) {
		o.clientID = clientID
	}
}

// WithEmitterTopicManagerBuilder sets how a topic manager would be built.
// Default: DefaultTopicManagerBuilder. As in goka, NewEmitter neither checks
// nor creates its topic, so the builder is kept but not used.
func WithEmitterTopicManagerBuilder(tmb TopicManagerBuilder) EmitterOption {
	return func(o *eoptions, _ Stream, _ Codec) {
		o.builders.topicmgr = tmb
	}
}

// WithEmitterProducerBuilder sets how the producer is built. Default:
// DefaultProducerBuilder.
func WithEmitterProducerBuilder(pb ProducerBuilder) EmitterOption {
	return func(o *eoptions, _ Stream, _ Codec) {
		o.builders.producer = pb
	}
}

// WithEmitterHasher sets the hash that places keys in partitions; it is
// passed to the producer builder. Default: DefaultHasher(). Processors and
// views reading the topic must use the same hash; Murmur2Hasher() is the one
// of Kafka's Java producers.
func WithEmitterHasher(hasher func() hash.Hash32) EmitterOption {
	return func(o *eoptions, _ Stream, _ Codec) {
		o.hasher = hasher
	}
}

// WithEmitterDefaultHeaders sets headers sent with every message; headers
// given to an emit override them key by key. Default: none.
func WithEmitterDefaultHeaders(headers Headers) EmitterOption {
	return func(o *eoptions, _ Stream, _ Codec) {
		o.defaultHeaders = headers
	}
}

// WithEmitterMetrics registers the emitter's Prometheus metrics in reg.
// Emitters may share a registry; the topic label tells them apart, and two
// emitters to one topic add to the same series. NewEmitter fails when reg
// holds other collectors under the same names. Default: no metrics.
//
// Metrics, labelled by topic:
//
//   - goka_emitter_messages_emitted_total, goka_emitter_emitted_bytes_total
//     (counters): messages Kafka acknowledged.
//   - goka_emitter_errors_total (counter): emits whose value could not be
//     encoded or that Kafka refused.
//   - goka_emitter_emit_duration_seconds (histogram): from the emit to
//     Kafka's answer.
func WithEmitterMetrics(reg prometheus.Registerer) EmitterOption {
	return func(o *eoptions, _ Stream, _ Codec) {
		o.metrics = reg
	}
}

// WithEmitterTester runs the emitter on the tester's in-memory Kafka.
func WithEmitterTester(t Tester) EmitterOption {
	return func(o *eoptions, topic Stream, codec Codec) {
		o.builders.producer = t.EmitterProducerBuilder()
		o.builders.topicmgr = t.TopicManagerBuilder()
		t.RegisterEmitter(topic, codec)
	}
}
