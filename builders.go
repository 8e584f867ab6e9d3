package goka

import (
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/IBM/sarama"
)

// The builders are how processors, views and emitters get their Kafka
// clients. The defaults start from the global configuration (see
// ReplaceGlobalConfig); the WithConfig variants start from a configuration of
// the caller's, which they copy rather than change, so one configuration can
// be given to several builders; the tester substitutes in-memory ones.

// ProducerBuilder builds the producer a processor or an emitter sends with.
// The hasher decides which partition a key is written to.
type ProducerBuilder func(brokers []string, clientID string, hasher func() hash.Hash32) (Producer, error)

// DefaultProducerBuilder builds a producer from the global configuration.
func DefaultProducerBuilder(brokers []string, clientID string, hasher func() hash.Hash32) (Producer, error) {
	return NewProducer(brokers, producerConfig(globalConfig(), clientID, hasher))
}

// ProducerBuilderWithConfig returns a ProducerBuilder that builds from a copy
// of config. Unlike goka, config itself is left unchanged.
func ProducerBuilderWithConfig(config *sarama.Config) ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (Producer, error) {
		if config == nil {
			return nil, fmt.Errorf("building producer: %w", errNilConfig)
		}
		return NewProducer(brokers, producerConfig(copyConfig(config), clientID, hasher))
	}
}

// producerConfig sets what a producer's configuration must have: its client
// ID and a partitioner that places keys where the readers look for them. A
// nil hasher means the default one.
func producerConfig(config *sarama.Config, clientID string, hasher func() hash.Hash32) *sarama.Config {
	if hasher == nil {
		hasher = DefaultHasher()
	}
	config.ClientID = clientID
	config.Producer.Partitioner = sarama.NewCustomHashPartitioner(hasher)
	return config
}

// ConsumerGroupBuilder builds the consumer group a processor joins.
type ConsumerGroupBuilder func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error)

// DefaultConsumerGroupBuilder builds a consumer group from the global
// configuration, with the group instance id of a processor's
// WithGroupInstanceID.
func DefaultConsumerGroupBuilder(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
	config := globalConfig()
	config.ClientID = clientID
	applyIsolation(config, clientID)
	if err := applyGroupInstanceID(config, group, clientID); err != nil {
		return nil, err
	}
	return newConsumerGroup(brokers, group, config)
}

// ConsumerGroupBuilderWithConfig returns a ConsumerGroupBuilder that builds
// from a copy of config, leaving config unchanged, with the group instance id
// of a processor's WithGroupInstanceID.
func ConsumerGroupBuilderWithConfig(config *sarama.Config) ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		if config == nil {
			return nil, fmt.Errorf("building consumer group %s: %w", group, errNilConfig)
		}
		c := copyConfig(config)
		c.ClientID = clientID
		applyIsolation(c, clientID)
		if err := applyGroupInstanceID(c, group, clientID); err != nil {
			return nil, err
		}
		return newConsumerGroup(brokers, group, c)
	}
}

// SaramaConsumerBuilder builds the plain consumer that tables are read with,
// at explicit offsets and outside any consumer group.
type SaramaConsumerBuilder func(brokers []string, clientID string) (sarama.Consumer, error)

// DefaultSaramaConsumerBuilder builds a consumer from the global
// configuration.
func DefaultSaramaConsumerBuilder(brokers []string, clientID string) (sarama.Consumer, error) {
	config := globalConfig()
	config.ClientID = clientID
	applyIsolation(config, clientID)
	return sarama.NewConsumer(brokers, config)
}

// SaramaConsumerBuilderWithConfig returns a SaramaConsumerBuilder that builds
// from a copy of config, leaving config unchanged.
func SaramaConsumerBuilderWithConfig(config *sarama.Config) SaramaConsumerBuilder {
	return func(brokers []string, clientID string) (sarama.Consumer, error) {
		if config == nil {
			return nil, fmt.Errorf("building consumer: %w", errNilConfig)
		}
		c := copyConfig(config)
		c.ClientID = clientID
		applyIsolation(c, clientID)
		return sarama.NewConsumer(brokers, c)
	}
}

// TopicManagerBuilder builds the topic manager that checks and creates
// topics.
type TopicManagerBuilder func(brokers []string) (TopicManager, error)

// topicManagerClientID is the Kafka client ID of topic managers built from the
// global configuration.
const topicManagerClientID = "goka-topic-manager"

// DefaultTopicManagerBuilder builds a topic manager from the global
// configuration and NewTopicManagerConfig().
func DefaultTopicManagerBuilder(brokers []string) (TopicManager, error) {
	config := globalConfig()
	config.ClientID = topicManagerClientID
	return NewTopicManager(brokers, config, NewTopicManagerConfig())
}

// TopicManagerBuilderWithConfig returns a TopicManagerBuilder that builds
// from a copy of config and from tmConfig.
func TopicManagerBuilderWithConfig(config *sarama.Config, tmConfig *TopicManagerConfig) TopicManagerBuilder {
	return func(brokers []string) (TopicManager, error) {
		if config == nil {
			return nil, fmt.Errorf("building topic manager: %w", errNilConfig)
		}
		return NewTopicManager(brokers, copyConfig(config), tmConfig)
	}
}

// TopicManagerBuilderWithTopicManagerConfig returns a TopicManagerBuilder
// that builds from the global configuration and tmConfig, for example to
// lower the replication factor on a single-broker cluster.
func TopicManagerBuilderWithTopicManagerConfig(tmConfig *TopicManagerConfig) TopicManagerBuilder {
	return func(brokers []string) (TopicManager, error) {
		config := globalConfig()
		config.ClientID = topicManagerClientID
		return NewTopicManager(brokers, config, tmConfig)
	}
}

// BackoffBuilder builds the backoff used between attempts to reconnect.
type BackoffBuilder func() (Backoff, error)

// Default backoff between reconnects: at once, then 10 s more each time, up
// to 2 minutes.
const (
	defaultBackoffStep = 10 * time.Second
	defaultBackoffMax  = 2 * time.Minute
)

// DefaultBackoffBuilder builds goka's backoff: 0, 10 s, 20 s, … up to 2
// minutes.
func DefaultBackoffBuilder() (Backoff, error) {
	return NewSimpleBackoff(defaultBackoffStep, defaultBackoffMax), nil
}

// errNilConfig rejects a nil configuration in a builder. sarama would
// silently use its own defaults instead, which differ from the library's.
var errNilConfig = errors.New("nil sarama config")

// copyConfig returns a shallow copy of config, so a builder can set its
// client ID without changing the caller's configuration.
func copyConfig(config *sarama.Config) *sarama.Config {
	c := *config
	return &c
}
