package goka

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/kafkatest"
)

// tmTestConfig is the default topic manager config made fit for the single
// embedded broker, whose replication factor can only be 1.
func tmTestConfig(log Logger) *TopicManagerConfig {
	cfg := NewTopicManagerConfig()
	cfg.Table.Replication = 1
	cfg.Stream.Replication = 1
	cfg.Logger = wrapLogger(log)
	return cfg
}

// tmTestCluster starts an embedded broker that the test closes at its end.
func tmTestCluster(t *testing.T, opts ...kafkatest.Option) *kafkatest.Cluster {
	t.Helper()
	cluster, err := kafkatest.NewCluster(opts...)
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	return cluster
}

// tmTestManager connects a topic manager to cluster and closes it at the end
// of the test, before the cluster.
func tmTestManager(t *testing.T, cluster *kafkatest.Cluster, cfg *TopicManagerConfig) TopicManager {
	t.Helper()
	tm, err := NewTopicManager(cluster.Addrs(), DefaultConfig(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, tm.Close()) })
	return tm
}

// tmTopicConfig reads a topic's configs back from the broker, bypassing the
// topic manager under test.
func tmTopicConfig(t *testing.T, cluster *kafkatest.Cluster, topic string) map[string]string {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(cluster.Addrs(), DefaultConfig())
	require.NoError(t, err)
	defer func() { require.NoError(t, admin.Close()) }()
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	require.NoError(t, err)
	configs := make(map[string]string, len(entries))
	for _, e := range entries {
		configs[e.Name] = e.Value
	}
	return configs
}

func TestTopicManagerEnsureTable(t *testing.T) {
	cluster := tmTestCluster(t)
	tm := tmTestManager(t, cluster, tmTestConfig(nil))

	require.NoError(t, tm.EnsureTableExists("table", 3))
	partitions, err := tm.Partitions("table")
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1, 2}, partitions)
	assert.Equal(t, "compact", tmTopicConfig(t, cluster, "table")["cleanup.policy"])

	// A second call finds the topic and leaves it alone.
	require.NoError(t, tm.EnsureTableExists("table", 3))
	partitions, err = tm.Partitions("table")
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1, 2}, partitions)
}

// With the defaults on three brokers, the tables and streams the library
// creates have three replicas of which two must have every acknowledged
// write.
func TestTopicManagerDefaultsAreDurable(t *testing.T) {
	cluster := tmTestCluster(t, kafkatest.WithBrokers(3))
	tm := tmTestManager(t, cluster, NewTopicManagerConfig())
	require.NoError(t, tm.EnsureTableExists("durable-table", 2))
	require.NoError(t, tm.EnsureStreamExists("durable-stream", 2))
	admin, err := sarama.NewClusterAdmin(cluster.Addrs(), DefaultConfig())
	require.NoError(t, err)
	defer func() { require.NoError(t, admin.Close()) }()
	topics, err := admin.DescribeTopics([]string{"durable-table", "durable-stream"})
	require.NoError(t, err)
	require.Len(t, topics, 2)
	for _, topic := range topics {
		for _, p := range topic.Partitions {
			assert.Len(t, p.Replicas, 3, "%s/%d", topic.Name, p.ID)
		}
		assert.Equal(t, "2", tmTopicConfig(t, cluster, topic.Name)["min.insync.replicas"], topic.Name)
	}
}

func TestTopicManagerEnsureStream(t *testing.T) {
	cluster := tmTestCluster(t)
	tm := tmTestManager(t, cluster, tmTestConfig(nil))

	require.NoError(t, tm.EnsureStreamExists("stream", 2))
	partitions, err := tm.Partitions("stream")
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1}, partitions)
	configs := tmTopicConfig(t, cluster, "stream")
	assert.Equal(t, "delete", configs["cleanup.policy"])
	assert.Equal(t, "3600000", configs["retention.ms"])
	require.NoError(t, tm.EnsureStreamExists("stream", 2))
}

func TestTopicManagerConfiguredPolicies(t *testing.T) {
	cluster := tmTestCluster(t)
	cfg := tmTestConfig(nil)
	cfg.Table.CleanupPolicy = "compact,delete"
	cfg.Stream.CleanupPolicy = "compact"
	cfg.Stream.Retention = 5 * time.Minute
	tm := tmTestManager(t, cluster, cfg)

	require.NoError(t, tm.EnsureTableExists("table", 1))
	require.NoError(t, tm.EnsureStreamExists("stream", 1))
	assert.Equal(t, "compact,delete", tmTopicConfig(t, cluster, "table")["cleanup.policy"])
	stream := tmTopicConfig(t, cluster, "stream")
	assert.Equal(t, "compact", stream["cleanup.policy"])
	assert.Equal(t, "300000", stream["retention.ms"])
}

func TestTopicManagerEnsureTopic(t *testing.T) {
	cluster := tmTestCluster(t)
	tm := tmTestManager(t, cluster, tmTestConfig(nil))

	require.NoError(t, tm.EnsureTopicExists("topic", 4, 1, map[string]string{"retention.ms": "1234"}))
	partitions, err := tm.Partitions("topic")
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1, 2, 3}, partitions)
	assert.Equal(t, "1234", tmTopicConfig(t, cluster, "topic")["retention.ms"])
}

func TestTopicManagerRefusesBadRequests(t *testing.T) {
	cluster := tmTestCluster(t)
	tm := tmTestManager(t, cluster, tmTestConfig(nil))

	err := tm.EnsureTopicExists("topic", 0, 1, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `topic "topic": 0 partitions`)

	err = tm.EnsureTopicExists("topic", 1, 0, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `topic "topic": replication factor 0`)

	_, err = tm.Partitions("topic")
	assert.ErrorIs(t, err, ErrTopicNotFound, "nothing was created")

	// The broker's own refusal names the topic too.
	err = tm.EnsureTopicExists("replicated", 1, 3, nil)
	require.ErrorIs(t, err, sarama.ErrInvalidReplicationFactor)
	assert.Contains(t, err.Error(), `creating topic "replicated"`)
}

func TestTopicManagerMissingTopic(t *testing.T) {
	cluster := tmTestCluster(t)
	tm := tmTestManager(t, cluster, tmTestConfig(nil))

	_, err := tm.Partitions("missing")
	require.ErrorIs(t, err, ErrTopicNotFound)
	assert.Contains(t, err.Error(), `"missing"`)
	// goka returned sarama's error here; programs match it and log it.
	require.ErrorIs(t, err, sarama.ErrUnknownTopicOrPartition)
	assert.Contains(t, err.Error(), sarama.ErrUnknownTopicOrPartition.Error())
}

func TestTopicManagerNoCreate(t *testing.T) {
	cluster := tmTestCluster(t, kafkatest.WithSeedTopics(2, "existing"))
	cfg := tmTestConfig(nil)
	cfg.NoCreate = true
	tm := tmTestManager(t, cluster, cfg)

	for name, ensure := range map[string]func() error{
		"table":  func() error { return tm.EnsureTableExists("missing", 2) },
		"stream": func() error { return tm.EnsureStreamExists("missing", 2) },
		"topic":  func() error { return tm.EnsureTopicExists("missing", 2, 1, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			err := ensure()
			require.ErrorIs(t, err, ErrTopicNotFound)
			var noCreate *topicNoCreateError
			require.ErrorAs(t, err, &noCreate)
			assert.Equal(t, "missing", noCreate.topic)
			assert.Contains(t, err.Error(), `topic "missing" does not exist`)
			assert.Contains(t, err.Error(), "NoCreate")
		})
	}
	_, err := tm.Partitions("missing")
	assert.ErrorIs(t, err, ErrTopicNotFound, "NoCreate created the topic")

	// Existing topics are fine.
	assert.NoError(t, tm.EnsureStreamExists("existing", 2))
}

func TestTopicManagerMismatch(t *testing.T) {
	// "existing" has 2 partitions, replication 1 and cleanup.policy=delete.
	for _, tc := range []struct {
		name   string
		ensure func(tm TopicManager) error
		diff   string
	}{
		{
			name:   "partition count",
			ensure: func(tm TopicManager) error { return tm.EnsureStreamExists("existing", 3) },
			diff:   "2 partitions instead of 3",
		},
		{
			name:   "config",
			ensure: func(tm TopicManager) error { return tm.EnsureTableExists("existing", 2) },
			diff:   `config cleanup.policy="delete" instead of "compact"`,
		},
		{
			name: "unknown config",
			ensure: func(tm TopicManager) error {
				return tm.EnsureTopicExists("existing", 2, 1, map[string]string{"no.such.config": "x"})
			},
			diff: `config no.such.config is not set instead of "x"`,
		},
		{
			name:   "replication",
			ensure: func(tm TopicManager) error { return tm.EnsureTopicExists("existing", 2, 2, nil) },
			diff:   "replication factor 1 instead of 2",
		},
	} {
		for _, behavior := range []TMConfigMismatchBehavior{
			TMConfigMismatchBehaviorIgnore, TMConfigMismatchBehaviorWarn, TMConfigMismatchBehaviorFail,
		} {
			t.Run(tc.name+"/"+behavior.String(), func(t *testing.T) {
				cluster := tmTestCluster(t)
				require.NoError(t, cluster.CreateTopic("existing", 2, map[string]string{
					"cleanup.policy": "delete",
					"retention.ms":   "3600000",
				}))
				rec := &recordingLogger{}
				cfg := tmTestConfig(rec)
				cfg.MismatchBehavior = behavior
				tm := tmTestManager(t, cluster, cfg)

				err := tc.ensure(tm)
				lines := rec.taken()
				switch behavior {
				case TMConfigMismatchBehaviorIgnore:
					assert.NoError(t, err)
					assert.Empty(t, lines)
				case TMConfigMismatchBehaviorWarn:
					assert.NoError(t, err)
					require.Len(t, lines, 1)
					assert.Contains(t, lines[0], `[topic_manager] Warning: topic "existing"`)
					assert.Contains(t, lines[0], tc.diff)
				case TMConfigMismatchBehaviorFail:
					require.ErrorIs(t, err, errTopicMismatch)
					assert.Contains(t, err.Error(), `topic "existing"`)
					assert.Contains(t, err.Error(), tc.diff)
					assert.Empty(t, lines)
				}

				partitions, err := tm.Partitions("existing")
				require.NoError(t, err)
				assert.Len(t, partitions, 2, "an existing topic is never changed")
			})
		}
	}
}

// TestTopicManagerMismatchListsEveryDifference makes sure a failure shows all
// that is wrong at once rather than one difference per attempt.
func TestTopicManagerMismatchListsEveryDifference(t *testing.T) {
	cluster := tmTestCluster(t)
	require.NoError(t, cluster.CreateTopic("existing", 2, map[string]string{"cleanup.policy": "delete"}))
	cfg := tmTestConfig(nil)
	cfg.MismatchBehavior = TMConfigMismatchBehaviorFail
	tm := tmTestManager(t, cluster, cfg)

	err := tm.EnsureTopicExists("existing", 4, 2, map[string]string{"cleanup.policy": "compact"})
	require.ErrorIs(t, err, errTopicMismatch)
	for _, diff := range []string{"2 partitions instead of 4", `cleanup.policy="delete" instead of "compact"`, "replication factor 1 instead of 2"} {
		assert.Contains(t, err.Error(), diff)
	}

	// A matching request passes under Fail.
	assert.NoError(t, tm.EnsureTopicExists("existing", 2, 1, map[string]string{"cleanup.policy": "delete"}))
}

// TestTopicManagerLosesCreationRace covers a topic created by someone else
// between the manager's look-up and its creation request, as happens when
// several instances of a processor start together.
func TestTopicManagerLosesCreationRace(t *testing.T) {
	cluster := tmTestCluster(t)
	require.NoError(t, cluster.CreateTopic("raced", 3, map[string]string{"cleanup.policy": "compact"}))
	tm := tmTestManager(t, cluster, tmTestConfig(nil)).(*topicManager)

	created, err := tm.create("raced", 3, 1, map[string]string{"cleanup.policy": "compact"})
	require.NoError(t, err)
	assert.False(t, created)
}

func TestTopicManagerGetOffset(t *testing.T) {
	cluster := tmTestCluster(t, kafkatest.WithSeedTopics(2, "events"))
	tm := tmTestManager(t, cluster, tmTestConfig(nil))

	pcfg := DefaultConfig()
	pcfg.Producer.Partitioner = sarama.NewManualPartitioner
	producer, err := sarama.NewSyncProducer(cluster.Addrs(), pcfg)
	require.NoError(t, err)
	for i := range 3 {
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{
			Topic:     "events",
			Partition: 1,
			Value:     sarama.StringEncoder(fmt.Sprint(i)),
		})
		require.NoError(t, err)
	}
	require.NoError(t, producer.Close())

	for _, tc := range []struct {
		partition int32
		time      int64
		want      int64
	}{
		{partition: 0, time: sarama.OffsetOldest, want: 0},
		{partition: 0, time: sarama.OffsetNewest, want: 0},
		{partition: 1, time: sarama.OffsetOldest, want: 0},
		{partition: 1, time: sarama.OffsetNewest, want: 3},
	} {
		offset, err := tm.GetOffset("events", tc.partition, tc.time)
		require.NoError(t, err)
		assert.Equal(t, tc.want, offset, "partition %d at %s", tc.partition, offsetTimeString(tc.time))
	}

	// Failures retry metadata once per sarama retry; one quick try will do.
	fast := DefaultConfig()
	fast.Metadata.Retry.Max = 0
	tm, err = NewTopicManager(cluster.Addrs(), fast, tmTestConfig(nil))
	require.NoError(t, err)
	defer func() { require.NoError(t, tm.Close()) }()

	_, err = tm.GetOffset("events", 7, sarama.OffsetNewest)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `topic "events" partition 7 at newest`)

	_, err = tm.GetOffset("missing", 0, sarama.OffsetOldest)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `topic "missing" partition 0 at oldest`)
}

func TestTopicManagerCloseIsIdempotent(t *testing.T) {
	cluster := tmTestCluster(t)
	tm, err := NewTopicManager(cluster.Addrs(), DefaultConfig(), tmTestConfig(nil))
	require.NoError(t, err)
	require.NoError(t, tm.Close())
	require.NoError(t, tm.Close())

	_, err = tm.Partitions("any")
	assert.ErrorIs(t, err, sarama.ErrClosedClient)
}

func TestNewTopicManagerErrors(t *testing.T) {
	cluster := tmTestCluster(t)
	tooOld := DefaultConfig()
	tooOld.Version = sarama.V0_9_0_0

	for _, tc := range []struct {
		name    string
		brokers []string
		sarama  *sarama.Config
		tm      *TopicManagerConfig
		msg     string
	}{
		{name: "nil sarama config", brokers: cluster.Addrs(), tm: tmTestConfig(nil), msg: "nil sarama config"},
		{name: "nil topic manager config", brokers: cluster.Addrs(), sarama: DefaultConfig(), msg: "nil topic manager config"},
		{name: "version too old", brokers: cluster.Addrs(), sarama: tooOld, tm: tmTestConfig(nil), msg: "0.9.0.0 is too old"},
		{name: "zero topic manager config", brokers: cluster.Addrs(), sarama: DefaultConfig(), tm: &TopicManagerConfig{}, msg: "table replication 0"},
		{name: "no brokers", sarama: DefaultConfig(), tm: tmTestConfig(nil), msg: "connecting to []"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := NewTopicManager(tc.brokers, tc.sarama, tc.tm)
			require.Error(t, err)
			assert.Nil(t, tm)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestNewTopicManagerUnreachable(t *testing.T) {
	cluster, err := kafkatest.NewCluster()
	require.NoError(t, err)
	addrs := cluster.Addrs()
	cluster.Close()

	cfg := DefaultConfig()
	cfg.Metadata.Retry.Max = 0
	tm, err := NewTopicManager(addrs, cfg, tmTestConfig(nil))
	require.ErrorIs(t, err, sarama.ErrOutOfBrokers)
	assert.Nil(t, tm)
	assert.Contains(t, err.Error(), addrs[0])
}

// fakeBroker stands in for the broker NewTopicManager checks.
type fakeBroker struct {
	openErr      error
	connected    bool
	connectedErr error
}

func (b *fakeBroker) Addr() string              { return "broker-1:9092" }
func (b *fakeBroker) Open(*sarama.Config) error { return b.openErr }
func (b *fakeBroker) Connected() (bool, error)  { return b.connected, b.connectedErr }
func (b *fakeBroker) CreateTopics(*sarama.CreateTopicsRequest) (*sarama.CreateTopicsResponse, error) {
	return nil, errors.New("not used")
}

func TestCheckBroker(t *testing.T) {
	refused := errors.New("connection refused")
	for _, tc := range []struct {
		name   string
		broker *fakeBroker
		want   error
		msg    string
	}{
		{name: "connects", broker: &fakeBroker{connected: true}},
		{name: "already connected", broker: &fakeBroker{openErr: sarama.ErrAlreadyConnected, connected: true}},
		{name: "open fails", broker: &fakeBroker{openErr: refused}, want: refused, msg: "opening broker broker-1:9092"},
		{name: "connection fails", broker: &fakeBroker{connectedErr: refused}, want: refused, msg: "connecting to broker broker-1:9092"},
		{name: "not connected", broker: &fakeBroker{}, msg: "broker broker-1:9092 is not connected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkBroker(tc.broker, DefaultConfig())
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestAwaitTopic(t *testing.T) {
	t.Run("appears after a few polls", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			lookup := func(topic string) ([]int32, error) {
				calls++
				if calls < 4 {
					return nil, fmt.Errorf("topic %q: %w", topic, ErrTopicNotFound)
				}
				return []int32{0}, nil
			}
			start := time.Now()
			require.NoError(t, awaitTopic(lookup, "t", 10*time.Second, 100*time.Millisecond))
			assert.Equal(t, 4, calls)
			assert.Equal(t, 300*time.Millisecond, time.Since(start))
		})
	})
	t.Run("never appears", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			lookup := func(topic string) ([]int32, error) {
				calls++
				return nil, fmt.Errorf("topic %q: %w", topic, ErrTopicNotFound)
			}
			start := time.Now()
			err := awaitTopic(lookup, "slow", 10*time.Second, time.Second)
			require.ErrorIs(t, err, ErrTopicNotFound)
			assert.Contains(t, err.Error(), `topic "slow" was created but did not appear in the metadata within 10s`)
			assert.Equal(t, 10*time.Second, time.Since(start))
			assert.GreaterOrEqual(t, calls, 10)
		})
	})
	t.Run("no timeout does not look", func(t *testing.T) {
		err := awaitTopic(func(string) ([]int32, error) {
			t.Fatal("looked up")
			return nil, nil
		}, "t", 0, time.Second)
		require.NoError(t, err)
	})
}
