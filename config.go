package goka

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// defaultFlushBytes is the batch size at which the producer sends without
// waiting for the flush timer.
const defaultFlushBytes = 64 * 1024

// DefaultConfig returns a new sarama configuration with the settings the
// library relies on. Change a copy, not the library's expectations: the
// producer must keep Return.Successes and Return.Errors on, because every
// emitted message is settled from those channels, and RequiredAcks must not be
// NoResponse, because table offsets are taken from the acknowledgement.
// NewProcessor, NewEmitter and NewProducer refuse a configuration that breaks
// either, or that asks for the idempotent producer without the settings it
// needs.
//
// Writes are acknowledged by all in-sync replicas (WaitForAll) and sent by the
// idempotent producer. Opting out is deliberate: set Producer.Idempotent =
// false and, if wanted, RequiredAcks = WaitForLocal and a larger
// Net.MaxOpenRequests. NewProcessor and NewEmitter accept that, but then a
// write acknowledged by the leader alone is lost when the leader fails over,
// and retries may duplicate writes or reorder two writes of one key.
func DefaultConfig() *sarama.Config {
	config := sarama.NewConfig()

	// 2.8 rather than goka's 2.0: Kafka 4.x removed the request versions older
	// clients send (KIP-896) and supports clients from 2.1 on only. Every
	// request sarama sends at 2.8 is above Kafka 4.0's floor, which the
	// embedded kafkatest broker enforces too; 2.8 is also sarama's own default,
	// the version its protocol coverage is complete for. sarama lowers each
	// request to what an older broker advertises, so 2.1-3.x brokers still
	// work. The measurements are in the project notes (sarama-version.md).
	config.Version = sarama.V2_8_0_0

	config.Consumer.Return.Errors = true
	// 256 KiB per partition and fetch instead of sarama's 1 MiB: a restore
	// decoded up to 1 MiB of small records per partition at once. Measured
	// with bench (embedded broker, same run): restoring 1M keys peaked at
	// 268-277 MB RSS and ran at 0.63-0.78 of the raw consumer; with 256 KiB,
	// 215-220 MB and 0.81-0.84. Larger records still fill a fetch.
	config.Consumer.Fetch.Default = 256 << 10
	config.Consumer.MaxProcessingTime = time.Second
	// Only streams read through the consumer group start at the newest
	// offset; tables always restore from the local offset or the oldest.
	config.Consumer.Offsets.Initial = sarama.OffsetNewest
	// Goka set the deprecated Rebalance.Strategy field, which makes sarama log
	// a warning on every client; the list form is the supported one.
	config.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{CopartitioningStrategy}

	// Durable writes, as Kafka's own clients default to since 3.0 (KIP-679):
	// a table write or an output counts as sent only when every in-sync
	// replica has it. With WaitForLocal the leader alone acknowledges, and a
	// write acknowledged just before the leader fails over is gone, although
	// its input offset may already be committed: neither a restart nor the
	// table recovery brings it back. The idempotent producer numbers each
	// partition's batches, so the broker drops a retried batch it already
	// has and refuses one that would overtake an earlier batch: without it,
	// a retry after a timeout duplicates a write and can put two writes of
	// one key in the wrong order, leaving the older value in the table.
	// sarama requires WaitForAll, Net.MaxOpenRequests = 1 and retries for it
	// (Version >= 0.11 holds). WaitForAll is as strong as the topic's
	// min.insync.replicas: see NewTopicManagerConfig for the broker side.
	// The cost, measured with bench, is in the README.
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Idempotent = true
	config.Net.MaxOpenRequests = 1
	config.Producer.Compression = sarama.CompressionSnappy
	// 1 ms, not goka's 100 ms: every EmitSync, and every emit a callback
	// waits for before its input offset is committed, waits for the flush
	// timer. Measured with bench (embedded broker, same run, best of 3):
	// EmitSync p50 101 ms -> 1.3 ms; the counting processor at 0.96 of the
	// raw sarama consume+produce pipeline. Under load batches still fill up
	// to Flush.Bytes, so throughput does not depend on the timer.
	config.Producer.Flush.Frequency = time.Millisecond
	config.Producer.Flush.Bytes = defaultFlushBytes
	config.Producer.Return.Successes = true
	config.Producer.Return.Errors = true
	// A send is retried for about 17 s in all (waits of 0.1, 0.2, 0.4, 0.8,
	// then 1 s): long enough to ride through a leader failover on a
	// replicated cluster (the brokers notice a dead one after
	// broker.session.timeout.ms, 9 s by default, then elect a new leader),
	// during which sarama's circuit breaker also refuses sends for 10 s. With
	// sarama's 100 ms between a handful of retries, a send failed within a
	// second of a leader's loss and stopped the processor that made it. Kafka's
	// Java producer retries for up to 2 minutes (delivery.timeout.ms).
	config.Producer.Retry.Max = defaultProducerRetries
	config.Producer.Retry.BackoffFunc = producerRetryBackoff
	// The producer does not retry a send whose partition has no known leader:
	// it fails it as soon as its client's metadata refresh gives up. So the
	// metadata refresh, too, is retried for about 16 s (waits of 0.25, 0.5,
	// 1 s, then 2 s) instead of sarama's 0.75 s, which a leader election
	// outlasts. A refresh that names a missing topic is never made by the
	// library (topics are looked up in the full list), so missing topics are
	// still reported at once.
	config.Metadata.Retry.Max = defaultMetadataRetries
	config.Metadata.Retry.BackoffFunc = metadataRetryBackoff
	// Only transactional producers (WithExactlyOnce) use it: a transaction
	// its instance left open by a crash holds back every read_committed
	// reader of the topics it wrote (the restores of the table by the
	// partitions' new owners included) until the broker aborts it after
	// this long. 10 s, as Kafka Streams sets under exactly-once, not
	// sarama's minute; it must exceed the commit interval by far.
	config.Producer.Transaction.Timeout = 10 * time.Second

	return config
}

// defaultProducerRetries and producerRetryBackoff make the producer's retry
// budget, about 17 s.
const defaultProducerRetries = 20

// producerRetryBackoff doubles the wait from 100 ms up to 1 s.
func producerRetryBackoff(retries, maxRetries int) time.Duration {
	const first, most = 100 * time.Millisecond, time.Second
	if retries < 1 {
		return first
	}
	if retries > 4 {
		return most
	}
	return min(first<<(retries-1), most)
}

// defaultMetadataRetries and metadataRetryBackoff make the metadata
// refresh's retry budget, about 16 s.
const defaultMetadataRetries = 10

// metadataRetryBackoff doubles the wait from 250 ms up to 2 s.
func metadataRetryBackoff(retries, maxRetries int) time.Duration {
	const first, most = 250 * time.Millisecond, 2 * time.Second
	if retries > 3 {
		return most
	}
	return min(first<<max(retries, 0), most)
}

var (
	globalConfigMu sync.RWMutex
	globalCfg      = *DefaultConfig()
)

// ReplaceGlobalConfig replaces the configuration the default builders start
// from (DefaultProducerBuilder, DefaultConsumerGroupBuilder and the others).
// The configuration is copied shallowly: later changes to config itself have
// no effect, but slices and pointers inside it (TLS settings, the metric
// registry, the balance strategies) stay shared. Builders read the global
// configuration each time they run, so a replacement affects processors,
// views and emitters created afterwards.
//
// A nil config panics, as in goka: it is a programming error, and silently
// keeping the old configuration would hide it.
func ReplaceGlobalConfig(config *sarama.Config) {
	if config == nil {
		panic("goka: ReplaceGlobalConfig called with a nil config")
	}
	globalConfigMu.Lock()
	defer globalConfigMu.Unlock()
	globalCfg = *config
}

// globalConfig returns a shallow copy of the global configuration that the
// caller may change freely at the top level.
func globalConfig() *sarama.Config {
	globalConfigMu.RLock()
	defer globalConfigMu.RUnlock()
	config := globalCfg
	return &config
}

// errDelivery marks a producer configuration under which an acknowledged
// write may never reach Kafka, or a promise may never finish: the library's
// at-least-once guarantee does not hold with it.
var errDelivery = errors.New("the producer configuration cannot deliver at least once")

// checkDeliveryConfig refuses a producer configuration that cannot be
// at-least-once, naming the setting and its fix. Weaker but sound choices
// (WaitForLocal without idempotence) pass: they are the user's to make, and
// DefaultConfig says what they cost. The idempotence rules are sarama's own
// (Config.Validate); checking them here gives an error that says what to do
// instead of sarama's bare requirement.
func checkDeliveryConfig(config *sarama.Config) error {
	if config == nil {
		return errNilConfig
	}
	p := config.Producer
	if !p.Return.Successes || !p.Return.Errors {
		return fmt.Errorf("%w: %w: every message is settled from those channels; set both to true, as DefaultConfig does", errDelivery, errProducerReturns)
	}
	if p.RequiredAcks == sarama.NoResponse {
		return fmt.Errorf("%w: Producer.RequiredAcks is NoResponse, so no write is ever acknowledged and input offsets and table offsets would be committed for writes that may not exist; set it to sarama.WaitForAll, as DefaultConfig does", errDelivery)
	}
	if !p.Idempotent {
		return nil
	}
	const optOut = "or set Producer.Idempotent = false to give up idempotence (retries may then duplicate and reorder writes of one key)"
	switch {
	case p.RequiredAcks != sarama.WaitForAll:
		return fmt.Errorf("%w: Producer.Idempotent needs Producer.RequiredAcks = sarama.WaitForAll, not %d; set it, %s", errDelivery, p.RequiredAcks, optOut)
	case config.Net.MaxOpenRequests > 1:
		return fmt.Errorf("%w: Producer.Idempotent needs Net.MaxOpenRequests = 1, not %d; set it, %s", errDelivery, config.Net.MaxOpenRequests, optOut)
	case p.Retry.Max < 1:
		return fmt.Errorf("%w: Producer.Idempotent needs Producer.Retry.Max >= 1, not %d; set it (DefaultConfig has %d), %s", errDelivery, p.Retry.Max, defaultProducerRetries, optOut)
	case !config.Version.IsAtLeast(sarama.V0_11_0_0):
		return fmt.Errorf("%w: Producer.Idempotent needs Version >= sarama.V0_11_0_0, not %s; set it (DefaultConfig has %s), %s", errDelivery, config.Version, sarama.V2_8_0_0, optOut)
	}
	return nil
}

// checkProducerBuilder checks, before anything connects, the configuration a
// producer builder will use when that configuration is known: the global one
// for DefaultProducerBuilder. Other builders, ProducerBuilderWithConfig
// among them, hide their configuration; NewProducer checks it when they
// build, so a processor using them is refused by Run before it joins its
// group, and an emitter by NewEmitter.
func checkProducerBuilder(pb ProducerBuilder) error {
	if pb == nil || reflect.ValueOf(pb).Pointer() != reflect.ValueOf(DefaultProducerBuilder).Pointer() {
		return nil
	}
	return checkDeliveryConfig(globalConfig())
}
