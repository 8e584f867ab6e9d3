package goka

import (
	"fmt"
	"hash"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
)

// ViewOption configures a view.
type ViewOption func(*voptions, Table, Codec)

type voptions struct {
	log            logger
	clientID       string
	updateCallback UpdateCallback
	hasher         func() hash.Hash32
	autoreconnect  bool
	// deprecatedRestartable makes NewView log that WithViewRestartable is
	// deprecated, through the view's logger, wherever it sits among the
	// options.
	deprecatedRestartable bool
	backoffResetTime      time.Duration
	// metrics is where the view registers its collectors; nil: none.
	metrics prometheus.Registerer
	// restoreConcurrency bounds the partitions restored at once (zero: the
	// default); restoreLimit is the limit built from it, or the one of the
	// processor whose lookup the view is.
	restoreConcurrency int
	// smallRestore is memoryOptions.smallRestore, for the view's own limit.
	smallRestore int64
	restoreLimit *table.RestoreLimit
	// readCommitted is set by WithViewReadCommitted.
	readCommitted bool

	builders struct {
		storage        storage.Builder
		consumerSarama SaramaConsumerBuilder
		topicmgr       TopicManagerBuilder
		backoff        BackoffBuilder
	}
}

// WithViewLogger sets the view's logger. Default: DefaultLogger().
func WithViewLogger(l Logger) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.log = wrapLogger(l) }
}

// WithViewCallback sets the callback that applies every record of the table
// to the local storage. Default: DefaultUpdate.
func WithViewCallback(cb UpdateCallback) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.updateCallback = cb }
}

// WithViewStorageBuilder sets the view's storage. Default: LevelDB under
// DefaultViewStoragePath().
func WithViewStorageBuilder(sb storage.Builder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.storage = sb }
}

// WithViewConsumerSaramaBuilder sets how the consumer that reads the table is
// built. Default: DefaultSaramaConsumerBuilder.
func WithViewConsumerSaramaBuilder(cgb SaramaConsumerBuilder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.consumerSarama = cgb }
}

// WithViewTopicManagerBuilder sets how the topic manager is built. Default:
// DefaultTopicManagerBuilder.
func WithViewTopicManagerBuilder(tmb TopicManagerBuilder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.topicmgr = tmb }
}

// WithViewBackoffBuilder sets the backoff between reconnects. Default:
// DefaultBackoffBuilder.
func WithViewBackoffBuilder(bb BackoffBuilder) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.builders.backoff = bb }
}

// WithViewBackoffResetTimeout sets how long a partition must run without
// error before its backoff starts again from zero. Default: one minute.
func WithViewBackoffResetTimeout(duration time.Duration) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.backoffResetTime = duration }
}

// WithViewHasher sets the hash that maps keys to partitions. Default: FNV-1a.
func WithViewHasher(hasher func() hash.Hash32) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.hasher = hasher }
}

// WithViewClientID sets the Kafka client ID. Default: goka-view-<table>.
func WithViewClientID(clientID string) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.clientID = clientID }
}

// WithViewAutoReconnect makes the view reconnect after Kafka errors instead
// of ending Run: a partition that loses its broker goes back to Connecting,
// keeps serving the values it has, waits for the backoff
// (WithViewBackoffBuilder) and resumes reading after its stored offset, so
// it catches up with whatever was written meanwhile. Run then ends only when
// its context is cancelled, or on an error that retrying cannot fix: a
// failing update callback, a broken store, or a store ahead of its topic.
// Kafka must be reachable when Run starts, as it must be for NewView.
func WithViewAutoReconnect() ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.autoreconnect = true }
}

// WithViewRestartable is the old name of WithViewAutoReconnect. Like goka's,
// it logs a deprecation warning, through the view's logger when NewView runs.
//
// Deprecated: use WithViewAutoReconnect.
func WithViewRestartable() ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		o.autoreconnect = true
		o.deprecatedRestartable = true
	}
}

// WithViewMetrics registers the view's Prometheus metrics in reg. Views of
// several tables may share a registry; two views of the same table on one
// registry (for example a view and a processor's lookup of that table)
// report one set of series, the first one's. NewView fails when reg holds
// other collectors under the same names. Default: no metrics.
//
// Metrics, labelled by topic (the table) and partition, computed when
// scraped:
//
//   - goka_view_partition_state (gauge): 0 stopped, 1 initializing,
//     2 connecting, 3 recovering, 4 preparing, 5 running, as
//     PartitionStatus.
//   - goka_view_partition_lag (gauge): records not applied yet.
//   - goka_view_recovery_progress (gauge, 0 to 1) and
//     goka_view_recovery_duration_seconds (gauge): the last restore.
//   - goka_view_messages_consumed_total, goka_view_consumed_bytes_total
//     (counters): records applied since Run started.
func WithViewMetrics(reg prometheus.Registerer) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.metrics = reg }
}

// WithViewTester runs the view on the tester's in-memory Kafka and storage.
func WithViewTester(t Tester) ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		o.builders.topicmgr = t.TopicManagerBuilder()
		o.builders.consumerSarama = t.ConsumerBuilder()
		o.clientID = t.RegisterView(table, codec)
		o.builders.storage = testerStorage(t, o.clientID)
	}
}

// WithViewRestoreConcurrency bounds how many partitions of the table the
// view restores from Kafka at once; the others wait for their turn. A
// restore holds a batch of up to 4 MiB and the consumer's fetch buffers
// while it runs; one of fewer than 8192 records runs without waiting.
// Default: four per core (4 * GOMAXPROCS), which restores as fast as all at
// once, since a restore mostly waits for the broker; zero takes the default. A processor's lookup tables share the processor's
// bound (WithRestoreConcurrency).
func WithViewRestoreConcurrency(n int) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.restoreConcurrency = n }
}

// withViewRestoreLimit makes a processor's lookup view share the processor's
// restore limit.
func withViewRestoreLimit(l *table.RestoreLimit) ViewOption {
	return func(o *voptions, table Table, codec Codec) { o.restoreLimit = l }
}

func (o *voptions) applyOptions(table Table, codec Codec, opts ...ViewOption) error {
	o.clientID = fmt.Sprintf("goka-view-%s", table)
	o.updateCallback = DefaultUpdate
	o.backoffResetTime = defaultBackoffResetTime
	o.builders.storage = storage.DefaultBuilder(DefaultViewStoragePath())
	for _, opt := range opts {
		opt(o, table, codec)
	}
	if o.log == nil {
		o.log = wrapLogger(nil)
	}
	if o.hasher == nil {
		o.hasher = DefaultHasher()
	}
	if o.updateCallback == nil {
		o.updateCallback = DefaultUpdate
	}
	if o.builders.storage == nil {
		return fmt.Errorf("view %s: the storage builder is nil", table)
	}
	if o.builders.consumerSarama == nil {
		o.builders.consumerSarama = DefaultSaramaConsumerBuilder
	}
	if o.builders.topicmgr == nil {
		o.builders.topicmgr = DefaultTopicManagerBuilder
	}
	if o.builders.backoff == nil {
		o.builders.backoff = DefaultBackoffBuilder
	}
	o.applyReadCommitted()
	if o.restoreConcurrency < 0 {
		return fmt.Errorf("view %s: negative restore concurrency %d (WithViewRestoreConcurrency)", table, o.restoreConcurrency)
	}
	if o.restoreLimit == nil {
		o.restoreLimit = newRestoreLimit(o.restoreConcurrency, o.smallRestore)
	}
	return nil
}
