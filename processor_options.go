package goka

import (
	"fmt"
	"hash"
	"path/filepath"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-b2c684ed/goka/storage"
)

// ProcessorOption configures a processor. Options apply in order; the last
// one wins.
type ProcessorOption func(*poptions, *GroupGraph)

// NilHandling tells a processor what to do with a message whose value is nil.
type NilHandling int

const (
	// NilIgnore commits messages with a nil value without calling the
	// callback. The default.
	NilIgnore NilHandling = iota
	// NilProcess calls the callback with a nil msg, without decoding.
	NilProcess
	// NilDecode passes nil to the codec and the result to the callback.
	NilDecode
)

// ContextWrapper wraps the Context of every callback, visits included, for
// example to add tracing.
type ContextWrapper func(ctx Context) Context

// Tester is implemented by the tester package: it hands a processor, a view
// or an emitter in-memory stand-ins for Kafka and storage.
type Tester interface {
	StorageBuilder() storage.Builder
	ProducerBuilder() ProducerBuilder
	ConsumerGroupBuilder() ConsumerGroupBuilder
	ConsumerBuilder() SaramaConsumerBuilder
	EmitterProducerBuilder() ProducerBuilder
	TopicManagerBuilder() TopicManagerBuilder
	RegisterGroupGraph(*GroupGraph) string
	RegisterEmitter(Stream, Codec)
	RegisterView(Table, Codec) string
}

const (
	defaultPartitionChannelSize = 10
	defaultBackoffResetTime     = time.Minute
	// defaultGroupRetryTimeout covers a leader or coordinator failover on a
	// replicated cluster (a dead broker is noticed after the brokers'
	// broker.session.timeout.ms, 9 s by default, then a new leader is
	// elected) while a cluster that is really gone still ends Run soon.
	defaultGroupRetryTimeout = 15 * time.Second
)

// DefaultProcessorStoragePath returns the directory a processor keeps its
// tables in by default: /tmp/goka/processor/<group>, the group escaped by
// storage.EscapeName so that it stays one directory there.
func DefaultProcessorStoragePath(group Group) string {
	return filepath.Join("/tmp/goka", "processor", storage.EscapeName(string(group)))
}

// DefaultViewStoragePath returns the directory views keep their tables in by
// default: /tmp/goka/view.
func DefaultViewStoragePath() string {
	return filepath.Join("/tmp/goka", "view")
}

// poptions is the configuration of a processor, filled by the options.
type poptions struct {
	log      logger
	clientID string

	updateCallback       UpdateCallback
	nilHandling          NilHandling
	hasher               func() hash.Hash32
	partitionChannelSize int
	hotStandby           bool
	recoverAhead         bool
	rebalanceCallback    RebalanceCallback
	contextWrapper       ContextWrapper
	defaultHeaders       Headers
	// cacheRows keeps group table rows in memory beyond their write (see
	// internal/tablecache); off for the tester, which writes stores itself.
	cacheRows        bool
	backoffResetTime time.Duration
	// stopTimeout is the deadline of a partition's stop (see
	// WithPartitionStopTimeout); zero until applyOptions derives it.
	stopTimeout time.Duration
	// groupRetryTimeout bounds how long failed attempts to join or rejoin
	// the consumer group are retried in a row before Run fails.
	groupRetryTimeout time.Duration
	// metrics is where the processor registers its collectors; nil: none.
	metrics prometheus.Registerer
	// errorPolicy is every input's error policy but those in
	// inputErrorPolicies (error_policy.go).
	errorPolicy        ErrorPolicy
	inputErrorPolicies map[Stream]ErrorPolicy
	// memory bounds the row cache, the restores and the deferred commits
	// (processor_options_memory.go).
	memory memoryOptions
	// restart is set by WithRestartOnError (processor_restart.go); nil:
	// Run returns at the first failure.
	restart *RestartPolicy
	// staticMember and groupInstanceID are set by WithGroupInstanceID
	// (processor_static_membership.go).
	staticMember    bool
	groupInstanceID string
	// cooperative is set by WithCooperativeRebalancing
	// (processor_cooperative.go).
	cooperative bool
	// exactlyOnce and commitInterval are set by WithExactlyOnce and
	// WithCommitInterval (processor_exactly_once.go); tester by WithTester,
	// under which exactly-once has no effect.
	exactlyOnce    bool
	commitInterval time.Duration
	tester         bool

	builders struct {
		storage        storage.Builder
		consumerSarama SaramaConsumerBuilder
		consumerGroup  ConsumerGroupBuilder
		producer       ProducerBuilder
		topicmgr       TopicManagerBuilder
		backoff        BackoffBuilder
		txnProducer    TransactionalProducerBuilder
	}
}

// WithUpdateCallback sets the callback that applies the records of the group
// table and the joined tables while they are restored or followed. Lookups use
// DefaultUpdate. Default: DefaultUpdate.
func WithUpdateCallback(cb UpdateCallback) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.updateCallback = cb }
}

// WithClientID sets the Kafka client ID of the consumer group, the table
// consumer, the producer and the lookup views. Default:
// goka-processor-<group>.
func WithClientID(clientID string) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.clientID = clientID }
}

// WithStorageBuilder sets the storage of the group table, the joins and the
// lookups. Default: LevelDB under DefaultProcessorStoragePath(group).
func WithStorageBuilder(sb storage.Builder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.storage = sb }
}

// WithTopicManagerBuilder sets how topic managers are built. Default:
// DefaultTopicManagerBuilder.
func WithTopicManagerBuilder(tmb TopicManagerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.topicmgr = tmb }
}

// WithConsumerGroupBuilder sets how the consumer group is built. Default:
// DefaultConsumerGroupBuilder.
func WithConsumerGroupBuilder(cgb ConsumerGroupBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.consumerGroup = cgb }
}

// WithConsumerSaramaBuilder sets how the consumer that reads tables is built.
// Default: DefaultSaramaConsumerBuilder.
func WithConsumerSaramaBuilder(cgb SaramaConsumerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.consumerSarama = cgb }
}

// WithProducerBuilder sets how the producer is built. Default:
// DefaultProducerBuilder.
func WithProducerBuilder(pb ProducerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.producer = pb }
}

// WithBackoffBuilder sets the backoff between restarts of tables that follow
// a topic (joins, hot-standby tables) after an error. Default:
// DefaultBackoffBuilder.
func WithBackoffBuilder(bb BackoffBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.backoff = bb }
}

// WithBackoffResetTimeout sets how long a table must run without error before
// its backoff starts again from zero. Default: one minute.
func WithBackoffResetTimeout(duration time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.backoffResetTime = duration }
}

// WithPartitionChannelSize sets how many messages of a partition are buffered
// ahead of its goroutine. Default: 10.
func WithPartitionChannelSize(size int) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.partitionChannelSize = size }
}

// WithLogger sets the logger. Default: DefaultLogger().
func WithLogger(l Logger) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.log = wrapLogger(l) }
}

// WithMetrics registers the processor's Prometheus metrics in reg, and the
// view metrics of its lookup tables (see WithViewMetrics). Processors of
// several groups, and several instances of one group, may share a registry:
// the collectors are registered once and the group label tells the
// processors apart. Instances of one group sharing a registry report the
// same series, so give each its own registry (or one wrapped with
// prometheus.WrapRegistererWith) to tell them apart. NewProcessor fails when
// reg holds other collectors under the same names. Default: no metrics.
//
// Metrics, labelled by group, topic and partition as they apply:
//
//   - goka_processor_messages_consumed_total, goka_processor_consumed_bytes_total
//     (counters): messages taken from each input topic (streams and the
//     loop) by each partition.
//   - goka_processor_messages_emitted_total, goka_processor_emitted_bytes_total
//     (counters): emits, loopbacks and table writes by destination topic;
//     the partition is the one whose callback sent them.
//   - goka_processor_callback_duration_seconds (histogram, group and
//     topic): how long callbacks run.
//   - goka_processor_consumer_lag (gauge): messages of an input partition
//     not processed yet, from the consumer's current high-water mark.
//   - goka_processor_table_recovery_progress (gauge, 0 to 1),
//     goka_processor_table_recovery_duration_seconds (gauge) and
//     goka_processor_table_lag (gauge): restore and follow of the group table
//     and the joined tables, per table partition.
//   - goka_processor_partitions (gauge, group and mode): active and
//     hot-standby partitions held.
//   - goka_processor_rebalances_total (counter): consumer group sessions.
//   - goka_processor_restarts_total (counter, group): restarts after a
//     failure (see WithRestartOnError).
//   - goka_processor_errors_total (counter, group and kind): processing,
//     emit, setup and table errors.
//   - goka_processor_oldest_deferred_commit_seconds (gauge, group and
//     partition): how long the oldest commit deferred by Context.DeferCommit
//     has not been released, 0 when none (see WithDeferredCommitWarning).
//   - goka_processor_row_cache_bytes (gauge, group): what the row cache of
//     the processor's partitions holds (see WithRowCacheBytes).
//   - goka_processor_message_retries_total,
//     goka_processor_messages_skipped_total and
//     goka_processor_messages_dead_lettered_total (counters, by input
//     topic): what the error policies did with failed messages (see
//     ErrorPolicy); a dead letter counts once Kafka acknowledged it.
//   - goka_processor_offset_resets_total (counter): claimed input partitions
//     whose committed offset was out of the topic's range (below the oldest
//     offset: retention deleted records the group had not processed; past the
//     newest: the topic was recreated or truncated) and that resumed at the
//     oldest offset; at 0 for every partition checked.
//
// Gauges are computed when scraped; counters cost a few atomic adds per
// message.
func WithMetrics(reg prometheus.Registerer) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.metrics = reg }
}

// WithHasher sets the hash that maps keys to partitions, for Get, the
// producer and the lookups. Default: FNV-1a, as goka. Murmur2Hasher() is the
// hash of Kafka's Java producers; the producers of the inputs must use the
// same hash, or the processor stops with ErrForeignPartitioner.
func WithHasher(hasher func() hash.Hash32) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.hasher = hasher }
}

// WithHotStandby makes the processor also follow every partition of the group
// table (and its joins) it is not assigned, so that taking one over after a
// rebalance restores nothing: the store it followed becomes the active one
// without being reopened.
func WithHotStandby() ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.hotStandby = true }
}

// WithRecoverAhead makes Run restore every partition of the group table and
// the joins into local storage before it joins the group, and keep those
// stores open (not followed) while it runs: a partition assigned later
// restores only what was written since.
func WithRecoverAhead() ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.recoverAhead = true }
}

// WithGroupGraphHook calls hook with the graph while the options are applied,
// inside NewProcessor.
func WithGroupGraphHook(hook func(gg *GroupGraph)) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { hook(gg) }
}

// WithRebalanceCallback sets the callback called at the start of every
// consumer group session with the assigned partitions. Default:
// DefaultRebalance.
func WithRebalanceCallback(cb RebalanceCallback) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.rebalanceCallback = cb }
}

// WithNilHandling sets what happens to messages with a nil value. Default:
// NilIgnore.
func WithNilHandling(nh NilHandling) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.nilHandling = nh }
}

// WithContextWrapper wraps the Context of every callback.
func WithContextWrapper(wrapper ContextWrapper) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.contextWrapper = wrapper }
}

// WithProducerDefaultHeaders sets headers added to every Emit and Loopback
// (not to the group table writes of SetValue and Delete).
func WithProducerDefaultHeaders(hdr Headers) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.defaultHeaders = hdr }
}

// WithTester runs the processor on the tester's in-memory Kafka and storage.
func WithTester(t Tester) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		o.builders.producer = t.ProducerBuilder()
		o.builders.topicmgr = t.TopicManagerBuilder()
		o.builders.consumerGroup = t.ConsumerGroupBuilder()
		o.builders.consumerSarama = t.ConsumerBuilder()
		o.partitionChannelSize = 0
		o.cacheRows = false
		o.clientID = t.RegisterGroupGraph(gg)
		o.builders.storage = testerStorage(t, o.clientID)
		o.tester = true
	}
}

// clientStorageTester is implemented by testers that keep a storage per
// client, so that a reader of a table never writes into the store of the
// processor that owns it.
type clientStorageTester interface {
	ClientStorageBuilder(clientID string) storage.Builder
}

func testerStorage(t Tester, clientID string) storage.Builder {
	if ct, ok := t.(clientStorageTester); ok {
		return ct.ClientStorageBuilder(clientID)
	}
	return t.StorageBuilder()
}

func (o *poptions) applyOptions(gg *GroupGraph, opts ...ProcessorOption) error {
	o.cacheRows = true
	o.clientID = fmt.Sprintf("goka-processor-%s", gg.Group())
	o.updateCallback = DefaultUpdate
	o.partitionChannelSize = defaultPartitionChannelSize
	o.rebalanceCallback = DefaultRebalance
	o.backoffResetTime = defaultBackoffResetTime
	o.groupRetryTimeout = defaultGroupRetryTimeout
	o.builders.storage = storage.DefaultBuilder(DefaultProcessorStoragePath(gg.Group()))

	for _, opt := range opts {
		opt(o, gg)
	}

	if o.log == nil {
		o.log = wrapLogger(nil)
	}
	if o.hasher == nil {
		o.hasher = DefaultHasher()
	}
	if o.contextWrapper == nil {
		o.contextWrapper = func(ctx Context) Context { return ctx }
	}
	if o.updateCallback == nil {
		o.updateCallback = DefaultUpdate
	}
	if o.rebalanceCallback == nil {
		o.rebalanceCallback = DefaultRebalance
	}
	if o.builders.storage == nil {
		return fmt.Errorf("processor %q: the storage builder is nil", gg.Group())
	}
	if o.partitionChannelSize < 0 {
		return fmt.Errorf("processor %q: negative partition channel size %d", gg.Group(), o.partitionChannelSize)
	}
	if o.builders.consumerSarama == nil {
		o.builders.consumerSarama = DefaultSaramaConsumerBuilder
	}
	if o.builders.consumerGroup == nil {
		o.builders.consumerGroup = DefaultConsumerGroupBuilder
	}
	if o.builders.producer == nil {
		o.builders.producer = DefaultProducerBuilder
	}
	if o.builders.topicmgr == nil {
		o.builders.topicmgr = DefaultTopicManagerBuilder
	}
	if o.builders.backoff == nil {
		o.builders.backoff = DefaultBackoffBuilder
	}
	if err := o.memory.resolve(gg.Group()); err != nil {
		return err
	}
	if err := o.checkGroupInstanceID(gg); err != nil {
		return err
	}
	if err := o.checkCooperative(gg); err != nil {
		return err
	}
	if err := o.applyExactlyOnce(gg); err != nil {
		return err
	}
	return o.checkStopTimeout(gg)
}

// checkStopTimeout derives the default partition stop timeout from the
// consumer group's rebalance timeout and checks a chosen one against it. A
// partition still stopping when the rebalance timeout passes gets its
// instance dropped from the group, and the rebalance waits that long for
// the whole group. The rebalance timeout is known for the default consumer
// group builder (the global config); another builder's config is opaque, so
// the global config's value stands in for the default only.
func (o *poptions) checkStopTimeout(gg *GroupGraph) error {
	rebalance := globalConfig().Consumer.Group.Rebalance.Timeout
	if o.stopTimeout == 0 {
		o.stopTimeout = max(rebalance/2, minStopTimeout)
		return nil
	}
	if o.stopTimeout < 0 {
		return fmt.Errorf("processor %q: negative partition stop timeout %v", gg.Group(), o.stopTimeout)
	}
	isDefault := reflect.ValueOf(o.builders.consumerGroup).Pointer() == reflect.ValueOf(DefaultConsumerGroupBuilder).Pointer()
	if isDefault && rebalance > 0 && o.stopTimeout >= rebalance {
		return fmt.Errorf("processor %q: the partition stop timeout %v must be below the consumer group's Consumer.Group.Rebalance.Timeout %v "+
			"(a partition still stopping then drops its instance from the group): lower WithPartitionStopTimeout or raise the rebalance timeout",
			gg.Group(), o.stopTimeout, rebalance)
	}
	return nil
}

// minStopTimeout is the least default partition stop timeout, for a global
// config with a tiny or zero rebalance timeout.
const minStopTimeout = time.Second

// WithPartitionStopTimeout sets the deadline of a partition's stop at a
// rebalance or shutdown: it stops taking messages, waits for its running
// callback and for the acknowledgements of what it processed, writes its
// cached rows and marks its store clean. A partition that misses the
// deadline leaves its group table marked dirty (rebuilt from the topic when
// it is next started here), says so in the log, and its messages not yet
// committed are processed again by their next owner; what its late
// callback writes is dropped. At shutdown the group is left at the
// deadline, so other instances take the partition over, but Run returns only
// once the late callback has returned: its goroutine cannot be stopped from
// outside, and the store it may still touch is closed after it. It must be
// below the consumer group's
// Consumer.Group.Rebalance.Timeout: NewProcessor checks that against the
// global config (ReplaceGlobalConfig) when the consumer group builder is
// the default one; with another builder, keep it below that builder's.
// Default: half the global config's rebalance timeout (30 s with sarama's
// default of 60 s).
func WithPartitionStopTimeout(timeout time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.stopTimeout = timeout }
}
