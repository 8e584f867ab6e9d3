package goka

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// ErrTopicNotFound reports a topic the cluster does not have. TopicManager
// implementations wrap it, so that callers can tell a missing topic from a
// cluster that cannot be reached with errors.Is. It wraps sarama's
// ErrUnknownTopicOrPartition, which goka returned in its place, so programs
// written for goka that match or log sarama's error keep working.
var ErrTopicNotFound = fmt.Errorf("topic not found: %w", sarama.ErrUnknownTopicOrPartition)

// errTopicMismatch reports an existing topic whose settings differ from the
// request, under TMConfigMismatchBehaviorFail.
var errTopicMismatch = errors.New("topic exists with other settings than requested")

// topicPollInterval is how often a created topic is looked for in the
// metadata. Kafka usually shows it within milliseconds, so waiting goka's 1 s
// between polls would slow down every processor's first start.
const topicPollInterval = 100 * time.Millisecond

// TopicManager checks and creates the topics of processors and views and reads
// their offsets. The library builds one through a TopicManagerBuilder and
// closes it when done.
type TopicManager interface {
	// EnsureTableExists makes sure a table topic exists with npar partitions,
	// creating it log-compacted if missing.
	EnsureTableExists(topic string, npar int) error
	// EnsureStreamExists makes sure a stream topic exists with npar
	// partitions, creating it with the stream retention if missing.
	EnsureStreamExists(topic string, npar int) error
	// EnsureTopicExists makes sure a topic exists, creating it with npar
	// partitions, replication factor rfactor and the topic configs in config
	// if missing.
	EnsureTopicExists(topic string, npar, rfactor int, config map[string]string) error
	// Partitions returns all partitions of topic in ascending order, or an
	// error wrapping ErrTopicNotFound if the topic does not exist.
	Partitions(topic string) ([]int32, error)
	// GetOffset returns the offset of a partition at time, which is a
	// timestamp in milliseconds, sarama.OffsetOldest or sarama.OffsetNewest.
	GetOffset(topic string, partitionID int32, time int64) (int64, error)
	// Close releases the connections to the cluster.
	Close() error
}

// topicManager is the TopicManager of a Kafka cluster, on top of a sarama
// client and the cluster admin sharing its connections.
type topicManager struct {
	client  sarama.Client
	admin   sarama.ClusterAdmin
	version sarama.KafkaVersion
	config  *TopicManagerConfig
	log     logger

	closeOnce sync.Once
	closeErr  error
}

// NewTopicManager connects to the cluster at brokers. The sarama config must
// ask for protocol version 0.10.0.0 or later, which topic creation needs.
func NewTopicManager(brokers []string, saramaConfig *sarama.Config, topicManagerConfig *TopicManagerConfig) (TopicManager, error) {
	if saramaConfig == nil {
		return nil, fmt.Errorf("topic manager: %w", errNilConfig)
	}
	if topicManagerConfig == nil {
		return nil, errors.New("topic manager: nil topic manager config")
	}
	if !saramaConfig.Version.IsAtLeast(sarama.V0_10_0_0) {
		return nil, fmt.Errorf("topic manager: sarama config version %s is too old: creating topics needs 0.10.0.0 or later", saramaConfig.Version)
	}
	if err := topicManagerConfig.validate(); err != nil {
		return nil, fmt.Errorf("topic manager: invalid config: %w", err)
	}

	client, err := sarama.NewClient(brokers, saramaConfig)
	if err != nil {
		return nil, fmt.Errorf("topic manager: connecting to %v: %w", brokers, err)
	}
	active := client.Brokers()
	if len(active) == 0 {
		_ = client.Close()
		return nil, fmt.Errorf("topic manager: no broker of %v is active", brokers)
	}
	if err := checkBroker(active[0], saramaConfig); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("topic manager: %w", err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("topic manager: building the cluster admin: %w", err)
	}

	return &topicManager{
		client:  client,
		admin:   admin,
		version: saramaConfig.Version,
		config:  topicManagerConfig,
		log:     managerLogger(topicManagerConfig.Logger),
	}, nil
}

// checkBroker makes sure broker accepts a connection, so that a cluster that
// answered metadata through a seed but whose advertised addresses are
// unreachable fails here, with the address named, instead of at the first
// topic operation.
func checkBroker(broker Broker, conf *sarama.Config) error {
	if err := broker.Open(conf); err != nil && !errors.Is(err, sarama.ErrAlreadyConnected) {
		return fmt.Errorf("opening broker %s: %w", broker.Addr(), err)
	}
	connected, err := broker.Connected()
	if err != nil {
		return fmt.Errorf("connecting to broker %s: %w", broker.Addr(), err)
	}
	if !connected {
		return fmt.Errorf("broker %s is not connected", broker.Addr())
	}
	return nil
}

// Close closes the admin and the client it shares; later calls return the
// first call's result.
func (m *topicManager) Close() error {
	m.closeOnce.Do(func() {
		if err := m.admin.Close(); err != nil {
			m.closeErr = fmt.Errorf("topic manager: closing: %w", err)
		}
	})
	return m.closeErr
}

// Client returns the client the topic manager shares with its admin; table
// partitions use it to check the offsets a restore did not receive
// (table.GapCheckOf).
func (m *topicManager) Client() sarama.Client { return m.client }

// Partitions refreshes the metadata of all topics rather than asking about
// this one: a metadata request naming a missing topic makes a broker with
// auto.create.topics.enable create it with the broker's defaults.
func (m *topicManager) Partitions(topic string) ([]int32, error) {
	if err := m.client.RefreshMetadata(); err != nil {
		return nil, fmt.Errorf("topic manager: partitions of topic %q: refreshing metadata: %w", topic, err)
	}
	topics, err := m.client.Topics()
	if err != nil {
		return nil, fmt.Errorf("topic manager: partitions of topic %q: %w", topic, err)
	}
	if !slices.Contains(topics, topic) {
		return nil, fmt.Errorf("topic manager: topic %q: %w", topic, ErrTopicNotFound)
	}
	partitions, err := m.client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("topic manager: partitions of topic %q: %w", topic, err)
	}
	partitions = slices.Clone(partitions)
	slices.Sort(partitions)
	return partitions, nil
}

// GetOffset asks the partition's leader for the offset at time.
func (m *topicManager) GetOffset(topic string, partitionID int32, time int64) (int64, error) {
	offset, err := m.client.GetOffset(topic, partitionID, time)
	if err != nil {
		return 0, fmt.Errorf("topic manager: offset of topic %q partition %d at %s: %w", topic, partitionID, offsetTimeString(time), err)
	}
	return offset, nil
}

// offsetTimeString names the special times of GetOffset in error messages.
func offsetTimeString(time int64) string {
	switch time {
	case sarama.OffsetOldest:
		return "oldest"
	case sarama.OffsetNewest:
		return "newest"
	default:
		return strconv.FormatInt(time, 10)
	}
}

// EnsureTableExists requests Table.Replication, Table.CleanupPolicy
// (compact unless set) and MinInsyncReplicas.
func (m *topicManager) EnsureTableExists(topic string, npar int) error {
	return m.ensureExists(topic, npar, m.config.Table.Replication, m.config.tableTopicConfig())
}

// EnsureStreamExists requests Stream.Replication, Stream.CleanupPolicy
// (delete unless set), Stream.Retention as retention.ms and
// MinInsyncReplicas.
func (m *topicManager) EnsureStreamExists(topic string, npar int) error {
	return m.ensureExists(topic, npar, m.config.Stream.Replication, m.config.streamTopicConfig())
}

// EnsureTopicExists creates the topic with exactly the caller's settings.
func (m *topicManager) EnsureTopicExists(topic string, npar, rfactor int, config map[string]string) error {
	return m.ensureExists(topic, npar, rfactor, config)
}

// ensureExists creates a missing topic and waits until the cluster shows it,
// or holds an existing one against the request as MismatchBehavior says.
func (m *topicManager) ensureExists(topic string, npar, rfactor int, config map[string]string) error {
	if npar < 1 {
		return fmt.Errorf("topic manager: topic %q: %d partitions requested, need at least 1", topic, npar)
	}
	if rfactor == 0 || rfactor < -1 {
		return fmt.Errorf("topic manager: topic %q: replication factor %d requested, need at least 1, or -1 for the broker default", topic, rfactor)
	}

	partitions, err := m.Partitions(topic)
	switch {
	case err == nil:
		return m.checkExisting(topic, len(partitions), npar, rfactor, config)
	case !errors.Is(err, ErrTopicNotFound):
		return err
	case m.config.NoCreate:
		return &topicNoCreateError{topic: topic}
	}

	created, err := m.create(topic, npar, rfactor, config)
	if err != nil {
		return err
	}
	if err := m.waitForTopic(topic); err != nil {
		return err
	}
	if created {
		return nil
	}
	// Another instance created it first, maybe with other settings.
	partitions, err = m.Partitions(topic)
	if err != nil {
		return err
	}
	return m.checkExisting(topic, len(partitions), npar, rfactor, config)
}

// create sends the creation request. It reports false, and no error, if the
// topic appeared in the meantime: processor instances starting together race
// to create their group's topics, and losing that race is no failure.
func (m *topicManager) create(topic string, npar, rfactor int, config map[string]string) (bool, error) {
	entries := make(map[string]*string, len(config))
	for k, v := range config {
		entries[k] = &v
	}
	err := m.admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions:     int32(npar),
		ReplicationFactor: int16(rfactor),
		ConfigEntries:     entries,
	}, false)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
		return false, nil
	default:
		return false, fmt.Errorf("topic manager: creating topic %q with %d partitions, replication %d and config %v: %w",
			topic, npar, rfactor, config, err)
	}
}

// waitForTopic polls the metadata until the topic shows, for at most
// CreateTopicTimeout; the broker acknowledges a creation before every broker
// knows the topic, and producing to it or consuming it would fail until then.
func (m *topicManager) waitForTopic(topic string) error {
	return awaitTopic(m.Partitions, topic, m.config.CreateTopicTimeout, topicPollInterval)
}

// awaitTopic calls lookup every interval until it finds topic, failing with
// lookup's last error once timeout has passed; a timeout of 0 does not wait.
func awaitTopic(lookup func(topic string) ([]int32, error), topic string, timeout, interval time.Duration) error {
	if timeout == 0 {
		return nil
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		_, err := lookup(topic)
		if err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("topic manager: topic %q was created but did not appear in the metadata within %s: %w", topic, timeout, err)
		}
	}
}

// checkExisting compares an existing topic with the request. Under
// TMConfigMismatchBehaviorIgnore it reads nothing: the result would be
// dropped, and describing topics may need permissions the user lacks.
func (m *topicManager) checkExisting(topic string, have, npar, rfactor int, config map[string]string) error {
	behavior := m.config.MismatchBehavior
	if behavior == TMConfigMismatchBehaviorIgnore {
		return nil
	}
	diffs, err := m.differences(topic, have, npar, rfactor, config)
	if err != nil {
		if behavior == TMConfigMismatchBehaviorFail {
			return err
		}
		m.log.Printf("Warning: cannot compare the existing topic %q with the request: %v", topic, err)
	}
	if len(diffs) == 0 {
		return nil
	}
	msg := strings.Join(diffs, "; ")
	if behavior == TMConfigMismatchBehaviorFail {
		return fmt.Errorf("topic manager: topic %q: %w: %s", topic, errTopicMismatch, msg)
	}
	m.log.Printf("Warning: topic %q exists with other settings than requested: %s", topic, msg)
	return nil
}

// differences lists how the existing topic differs from the request, reading
// its configs (Kafka 0.11 and later) and its replica assignment.
func (m *topicManager) differences(topic string, have, npar, rfactor int, config map[string]string) ([]string, error) {
	var diffs []string
	if have != npar {
		diffs = append(diffs, fmt.Sprintf("%d partitions instead of %d", have, npar))
	}

	if len(config) > 0 && m.version.IsAtLeast(sarama.V0_11_0_0) {
		entries, err := m.admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
		if err != nil {
			return diffs, fmt.Errorf("topic manager: describing the config of topic %q: %w", topic, err)
		}
		actual := make(map[string]string, len(entries))
		for _, e := range entries {
			actual[e.Name] = e.Value
		}
		keys := make([]string, 0, len(config))
		for k := range config {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			got, ok := actual[k]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("config %s is not set instead of %q", k, config[k]))
			case got != config[k]:
				diffs = append(diffs, fmt.Sprintf("config %s=%q instead of %q", k, got, config[k]))
			}
		}
	}

	if rfactor > 0 {
		replicas, err := m.minReplicas(topic)
		if err != nil {
			return diffs, err
		}
		if replicas != rfactor {
			diffs = append(diffs, fmt.Sprintf("replication factor %d instead of %d", replicas, rfactor))
		}
	}
	return diffs, nil
}

// minReplicas returns the smallest replica count of the topic's partitions,
// its effective replication factor.
func (m *topicManager) minReplicas(topic string) (int, error) {
	metadata, err := m.admin.DescribeTopics([]string{topic})
	if err != nil {
		return 0, fmt.Errorf("topic manager: describing topic %q: %w", topic, err)
	}
	for _, t := range metadata {
		if t.Name != topic {
			continue
		}
		if !errors.Is(t.Err, sarama.ErrNoError) {
			return 0, fmt.Errorf("topic manager: describing topic %q: %w", topic, t.Err)
		}
		least := -1
		for _, p := range t.Partitions {
			if least < 0 || len(p.Replicas) < least {
				least = len(p.Replicas)
			}
		}
		if least < 0 {
			return 0, fmt.Errorf("topic manager: describing topic %q: no partitions", topic)
		}
		return least, nil
	}
	return 0, fmt.Errorf("topic manager: describing topic %q: %w", topic, ErrTopicNotFound)
}

// topicNoCreateError reports a missing topic the manager may not create. It
// matches ErrTopicNotFound, which is what it is from the caller's view.
type topicNoCreateError struct {
	topic string
}

func (e *topicNoCreateError) Error() string {
	return fmt.Sprintf("topic manager: topic %q does not exist and the topic manager is configured with NoCreate: create it before starting", e.topic)
}

func (e *topicNoCreateError) Unwrap() error { return ErrTopicNotFound }
