package goka

import (
	"errors"
	"fmt"
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

// Defaults of NewTopicManagerConfig. A replication of 2 suits a production
// cluster; a single-broker development setup must lower it to 1.
const (
	defaultTableReplication   = 2
	defaultStreamReplication  = 2
	defaultStreamRetention    = time.Hour
	defaultCreateTopicTimeout = 10 * time.Second
)

// TopicManagerConfig configures the topics a topic manager creates and how it
// treats existing ones. Start from NewTopicManagerConfig: the zero value has a
// replication factor of 0, which NewTopicManager refuses.
type TopicManagerConfig struct {
	// Logger receives the warnings of TMConfigMismatchBehaviorWarn, prefixed
	// with "topic_manager". Nil means DefaultLogger(). Default:
	// DefaultLogger().
	Logger Logger

	// Table configures the topics created by EnsureTableExists: the group
	// tables of processors.
	Table struct {
		// Replication is the replication factor; -1 leaves it to the broker's
		// default.replication.factor. Default: 2.
		Replication int
		// CleanupPolicy is sent as cleanup.policy. Default (empty): compact,
		// which a table needs so that its latest value per key survives.
		CleanupPolicy string
	}

	// Stream configures the topics created by EnsureStreamExists, such as a
	// processor's loop topic.
	Stream struct {
		// Replication is the replication factor; -1 leaves it to the broker's
		// default.replication.factor. Default: 2.
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
// replication 2 for tables and streams, streams kept for 1 hour, mismatches
// ignored, and up to 10 s of waiting for a created topic to appear.
func NewTopicManagerConfig() *TopicManagerConfig {
	cfg := &TopicManagerConfig{
		Logger:             DefaultLogger(),
		CreateTopicTimeout: defaultCreateTopicTimeout,
		MismatchBehavior:   TMConfigMismatchBehaviorIgnore,
	}
	cfg.Table.Replication = defaultTableReplication
	cfg.Stream.Replication = defaultStreamReplication
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
