package goka

import (
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
	config.Producer.Retry.Max = 10

	return config
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
