package goka

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewTopicManagerConfigDefaults(t *testing.T) {
	cfg := NewTopicManagerConfig()
	assert.Equal(t, 3, cfg.Table.Replication)
	assert.Equal(t, 2, cfg.MinInsyncReplicas)
	assert.Equal(t, "", cfg.Table.CleanupPolicy)
	assert.Equal(t, 3, cfg.Stream.Replication)
	assert.Equal(t, time.Hour, cfg.Stream.Retention)
	assert.Equal(t, "", cfg.Stream.CleanupPolicy)
	assert.Equal(t, 10*time.Second, cfg.CreateTopicTimeout)
	assert.Equal(t, TMConfigMismatchBehaviorIgnore, cfg.MismatchBehavior)
	assert.False(t, cfg.NoCreate)
	assert.Equal(t, logger(defaultLogger), cfg.Logger)
	assert.NoError(t, cfg.validate())

	assert.Equal(t, "compact", cfg.tableCleanupPolicy())
	assert.Equal(t, "delete", cfg.streamCleanupPolicy())
	cfg.Table.CleanupPolicy = "compact,delete"
	cfg.Stream.CleanupPolicy = "compact"
	assert.Equal(t, "compact,delete", cfg.tableCleanupPolicy())
	assert.Equal(t, "compact", cfg.streamCleanupPolicy())

	assert.NotSame(t, NewTopicManagerConfig(), NewTopicManagerConfig(), "callers change their copy")
}

func TestTMConfigMismatchBehaviorValues(t *testing.T) {
	// goka's numeric values, which configuration files may hold.
	assert.Equal(t, TMConfigMismatchBehavior(0), TMConfigMismatchBehaviorIgnore)
	assert.Equal(t, TMConfigMismatchBehavior(1), TMConfigMismatchBehaviorWarn)
	assert.Equal(t, TMConfigMismatchBehavior(2), TMConfigMismatchBehaviorFail)
	assert.Equal(t, "ignore", TMConfigMismatchBehaviorIgnore.String())
	assert.Equal(t, "warn", TMConfigMismatchBehaviorWarn.String())
	assert.Equal(t, "fail", TMConfigMismatchBehaviorFail.String())
	assert.Equal(t, "TMConfigMismatchBehavior(7)", TMConfigMismatchBehavior(7).String())
}

func TestTopicManagerConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*TopicManagerConfig)
		msgs   []string
	}{
		{name: "defaults", change: func(*TopicManagerConfig) {}},
		{name: "broker default replication", change: func(c *TopicManagerConfig) {
			c.Table.Replication, c.Stream.Replication = -1, -1
		}},
		{name: "no wait", change: func(c *TopicManagerConfig) { c.CreateTopicTimeout = 0 }},
		{name: "nil logger", change: func(c *TopicManagerConfig) { c.Logger = nil }},
		{
			name:   "zero replication",
			change: func(c *TopicManagerConfig) { c.Table.Replication, c.Stream.Replication = 0, 0 },
			msgs:   []string{"table replication 0", "stream replication 0"},
		},
		{
			name:   "negative replication",
			change: func(c *TopicManagerConfig) { c.Stream.Replication = -2 },
			msgs:   []string{"stream replication -2"},
		},
		{
			name:   "negative min.insync.replicas",
			change: func(c *TopicManagerConfig) { c.MinInsyncReplicas = -1 },
			msgs:   []string{"min.insync.replicas -1: must not be negative"},
		},
		{
			name:   "negative timeout",
			change: func(c *TopicManagerConfig) { c.CreateTopicTimeout = -time.Second },
			msgs:   []string{"create topic timeout -1s"},
		},
		{
			name:   "unknown mismatch behavior",
			change: func(c *TopicManagerConfig) { c.MismatchBehavior = 3 },
			msgs:   []string{"unknown mismatch behavior TMConfigMismatchBehavior(3)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewTopicManagerConfig()
			tc.change(cfg)
			err := cfg.validate()
			if len(tc.msgs) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, msg := range tc.msgs {
				assert.Contains(t, err.Error(), msg)
			}
		})
	}
}

// min.insync.replicas is requested only where it leaves a replica to spare:
// on a single broker, or with as many required as replicas, it would stop
// writes.
func TestTopicManagerConfigMinInsyncReplicas(t *testing.T) {
	for _, tc := range []struct {
		replication, minInsync int
		want                   string // "" for not requested
	}{
		{3, 2, "2"}, {5, 3, "3"}, {1, 2, ""}, {2, 2, ""}, {-1, 2, ""}, {3, 0, ""},
	} {
		cfg := NewTopicManagerConfig()
		cfg.Table.Replication, cfg.Stream.Replication, cfg.MinInsyncReplicas = tc.replication, tc.replication, tc.minInsync
		for what, config := range map[string]map[string]string{"table": cfg.tableTopicConfig(), "stream": cfg.streamTopicConfig()} {
			got, ok := config["min.insync.replicas"]
			assert.Equal(t, tc.want, got, "%s, replication %d, min.insync %d", what, tc.replication, tc.minInsync)
			assert.Equal(t, tc.want != "", ok)
		}
	}
	assert.Equal(t, "compact", NewTopicManagerConfig().tableTopicConfig()["cleanup.policy"])
	assert.Equal(t, map[string]string{"cleanup.policy": "delete", "retention.ms": "3600000", "min.insync.replicas": "2"},
		NewTopicManagerConfig().streamTopicConfig())
}
