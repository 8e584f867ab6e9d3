package goka

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// TMConfigMismatchBehavior says what a topic manager does when a topic it is
// asked to ensure already exists with other settings than requested: another
// partition count, replication factor or topic config.
type TMConfigMismatchBehavior int

const (
	// TMConfigMismatchBehaviorIgnore accepts the existing topic silently. The
	// topic manager then does not even read the topic's settings, so it needs
	// no permission to describe topics.
	TMConfigMismatchBehaviorIgnore TMConfigMismatchBehavior = 0
	// TMConfigMismatchBehaviorWarn accepts the existing topic and logs every
	// difference.
	TMConfigMismatchBehaviorWarn TMConfigMismatchBehavior = 1
	// TMConfigMismatchBehaviorFail refuses the existing topic with an error
	// listing every difference.
	TMConfigMismatchBehaviorFail TMConfigMismatchBehavior = 2
)

// String names the behaviour for logs and errors.
func (b TMConfigMismatchBehavior) String() string {
	switch b {
	case TMConfigMismatchBehaviorIgnore:
		return "ignore"
	case TMConfigMismatchBehaviorWarn:
		return "warn"
	case TMConfigMismatchBehaviorFail:
		return "fail"
	default:
		return fmt.Sprintf("TMConfigMismatchBehavior(%d)", int(b))
	}
}

// Defaults of NewTopicManagerConfig, for a production cluster: three
// replicas of which two must have a write before it is acknowledged
// (min.insync.replicas=2), so that with the producer's WaitForAll (see
// DefaultConfig) an acknowledged write survives the loss of any one broker,
// and one broker may be down without stopping writes. goka created topics
// with 2 replicas and the broker's min.insync.replicas, by default 1: a write
// then counts as acknowledged with one copy whenever the other replica falls
// behind, and is lost with that broker. A single-broker development or test
// setup must lower Replication to 1 (which also leaves min.insync.replicas to
// the broker); creating a topic with more replicas than brokers fails.
const (
	defaultTableReplication   = 3
	defaultStreamReplication  = 3
	defaultMinInsyncReplicas  = 2
	defaultStreamRetention    = time.Hour
	defaultCreateTopicTimeout = 10 * time.Second
)

// TopicManagerConfig configures the topics a topic manager creates and how it
// treats existing ones. Start from NewTopicManagerConfig: the zero value has a
// replication factor of 0, which NewTopicManager refuses.
type TopicManagerConfig struct {
	// Logger receives the warnings of TMConfigMismatchBehaviorWarn, prefixed
	// with "topic_manager". Its type is the library's own, unexported, as in
	// goka, so a program can keep the default, copy it or set nil (the
	// default logger); a Logger of the program's is given to the processor,
	// view or emitter instead. Default: the default logger.
	Logger logger

	// MinInsyncReplicas is sent as min.insync.replicas with every table and
	// stream the manager creates whose replication is larger than it, so that
	// one replica may fail without stopping writes; otherwise, and when 0,
	// the broker's setting applies. It is what WaitForAll waits for: with 1,
	// a write acknowledged by the leader alone is lost when the leader fails.
	// It is one field beside Table and Stream, not inside them, so that their
	// types stay goka's. Default: 2.
	MinInsyncReplicas int

	// Table configures the topics created by EnsureTableExists: the group
	// tables of processors.
	Table struct {
		// Replication is the replication factor; -1 leaves it to the broker's
		// default.replication.factor. Default: 3; 1 on a single broker.
		Replication int
		// CleanupPolicy is sent as cleanup.policy. Default (empty): compact,
		// which a table needs so that its latest value per key survives.
		CleanupPolicy string
	}

	// Stream configures the topics created by EnsureStreamExists, such as a
	// processor's loop topic.
	Stream struct {
		// Replication is the replication factor; -1 leaves it to the broker's
		// default.replication.factor. Default: 3; 1 on a single broker.
		Replication int
		// Retention is sent as retention.ms, in whole milliseconds. Default:
		// 1 hour.
		Retention time.Duration
		// CleanupPolicy is sent as cleanup.policy. Default (empty): delete.
		CleanupPolicy string
	}

	// CreateTopicTimeout bounds the wait, after a topic was created, until the
	// cluster's metadata shows it; a topic that is not visible in time is an
	// error. 0 returns right after the broker accepted the creation. Default:
	// 10 s.
	CreateTopicTimeout time.Duration

	// MismatchBehavior says what to do with an existing topic whose partition
	// count, replication factor or requested configs differ from the request.
	// Default: TMConfigMismatchBehaviorIgnore.
	MismatchBehavior TMConfigMismatchBehavior

	// NoCreate forbids creating topics: ensuring a missing topic fails with an
	// error naming it, which matches ErrTopicNotFound. For clusters where
	// topics are provisioned by other means. Default: false.
	NoCreate bool
}

// NewTopicManagerConfig returns the default topic manager configuration:
// replication 3 and min.insync.replicas 2 for tables and streams, streams
// kept for 1 hour, mismatches ignored, and up to 10 s of waiting for a
// created topic to appear. On a single broker set Table.Replication and
// Stream.Replication to 1.
//
// Topics the library does not create (inputs, joins, lookup tables) are the
// operator's: give them replication 3 and min.insync.replicas=2 as well, or
// set the broker's default.replication.factor=3 and min.insync.replicas=2.
func NewTopicManagerConfig() *TopicManagerConfig {
	cfg := &TopicManagerConfig{
		Logger:             defaultLogger,
		CreateTopicTimeout: defaultCreateTopicTimeout,
		MismatchBehavior:   TMConfigMismatchBehaviorIgnore,
	}
	cfg.Table.Replication = defaultTableReplication
	cfg.Stream.Replication = defaultStreamReplication
	cfg.MinInsyncReplicas = defaultMinInsyncReplicas
	cfg.Stream.Retention = defaultStreamRetention
	return cfg
}

// validate refuses settings every topic creation would fail with later, so
// that the mistake shows where the configuration is made.
func (c *TopicManagerConfig) validate() error {
	var errs []error
	if c.Table.Replication == 0 || c.Table.Replication < -1 {
		errs = append(errs, fmt.Errorf("table replication %d: must be at least 1, or -1 for the broker default", c.Table.Replication))
	}
	if c.Stream.Replication == 0 || c.Stream.Replication < -1 {
		errs = append(errs, fmt.Errorf("stream replication %d: must be at least 1, or -1 for the broker default", c.Stream.Replication))
	}
	if c.MinInsyncReplicas < 0 {
		errs = append(errs, fmt.Errorf("min.insync.replicas %d: must not be negative (0: the broker's)", c.MinInsyncReplicas))
	}
	if c.CreateTopicTimeout < 0 {
		errs = append(errs, fmt.Errorf("create topic timeout %s: must not be negative", c.CreateTopicTimeout))
	}
	switch c.MismatchBehavior {
	case TMConfigMismatchBehaviorIgnore, TMConfigMismatchBehaviorWarn, TMConfigMismatchBehaviorFail:
	default:
		errs = append(errs, fmt.Errorf("unknown mismatch behavior %s", c.MismatchBehavior))
	}
	return errors.Join(errs...)
}

// tableCleanupPolicy is the cleanup.policy requested for tables.
func (c *TopicManagerConfig) tableCleanupPolicy() string {
	if c.Table.CleanupPolicy == "" {
		return "compact"
	}
	return c.Table.CleanupPolicy
}

// streamCleanupPolicy is the cleanup.policy requested for streams.
func (c *TopicManagerConfig) streamCleanupPolicy() string {
	if c.Stream.CleanupPolicy == "" {
		return "delete"
	}
	return c.Stream.CleanupPolicy
}

// tableTopicConfig is the topic config requested for tables.
func (c *TopicManagerConfig) tableTopicConfig() map[string]string {
	config := map[string]string{"cleanup.policy": c.tableCleanupPolicy()}
	addMinInsync(config, c.Table.Replication, c.MinInsyncReplicas)
	return config
}

// streamTopicConfig is the topic config requested for streams.
func (c *TopicManagerConfig) streamTopicConfig() map[string]string {
	config := map[string]string{
		"cleanup.policy": c.streamCleanupPolicy(),
		"retention.ms":   strconv.FormatInt(c.Stream.Retention.Milliseconds(), 10),
	}
	addMinInsync(config, c.Stream.Replication, c.MinInsyncReplicas)
	return config
}

// addMinInsync requests min.insync.replicas only where it leaves a replica
// to spare: with as many required as there are replicas, one broker down
// would stop every write, and a single-broker setup (replication 1) could
// not write at all. -1 (the broker's replication) is unknown here.
func addMinInsync(config map[string]string, replication, minInsync int) {
	if minInsync > 0 && replication > minInsync {
		config["min.insync.replicas"] = strconv.Itoa(minInsync)
	}
}
