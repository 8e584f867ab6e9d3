package systemtest

import (
	"time"

	"github.com/IBM/sarama"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/storage"
)

// The timeouts of the scenario clients. A killed group member has to be
// noticed within seconds, not the library's default ten, and a lost broker
// has to surface as an error before a test's deadline; but a JoinGroup
// response waits for every member to rejoin, so the read timeout must stay
// above the session timeout or a rebalance after a kill would time out the
// very connection it is waiting on.
const (
	sessionTimeout   = 6 * time.Second
	heartbeat        = 300 * time.Millisecond
	rebalanceTimeout = 10 * time.Second
	dialTimeout      = 3 * time.Second
	writeTimeout     = 3 * time.Second
	readTimeout      = 12 * time.Second
)

// FastConfig returns the sarama configuration of the processors, views and
// emitters of the scenarios: the library's defaults, with input streams read
// from the oldest offset (tests produce before a processor joins), offsets
// committed five times a second, and the short timeouts above so that a
// killed instance, a cut connection or a stopped broker shows within seconds.
// Its producer gives up after three quick retries, so that a send to an
// unreachable broker fails within the scenarios' deadlines.
func FastConfig() *sarama.Config {
	cfg := fastTimeouts(goka.DefaultConfig())
	cfg.Metadata.Retry.Max = 2
	cfg.Metadata.Retry.Backoff = 200 * time.Millisecond
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	cfg.Producer.Retry.Max = 3
	cfg.Producer.Retry.Backoff = 100 * time.Millisecond
	return cfg
}

// fastTimeouts sets what FastConfig and ClusterConfig share: input streams
// read from the oldest offset, frequent commits, and the short group and
// network timeouts that make a lost member or broker show within seconds.
func fastTimeouts(cfg *sarama.Config) *sarama.Config {
	cfg.ClientID = "goka-systemtest"
	cfg.Metadata.AllowAutoTopicCreation = false
	cfg.Net.DialTimeout = dialTimeout
	cfg.Net.WriteTimeout = writeTimeout
	cfg.Net.ReadTimeout = readTimeout

	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Retry.Backoff = 200 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = sessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = heartbeat
	cfg.Consumer.Group.Rebalance.Timeout = rebalanceTimeout
	cfg.Consumer.Group.Rebalance.Retry.Max = 2
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 500 * time.Millisecond
	return cfg
}

// SetSessionTimeout sets cfg's consumer group session timeout to d and keeps
// the read timeout above it, by as much as FastConfig keeps it above its own,
// since a JoinGroup response may wait that long for a member.
func SetSessionTimeout(cfg *sarama.Config, d time.Duration) {
	cfg.Consumer.Group.Session.Timeout = d
	cfg.Net.ReadTimeout = max(cfg.Net.ReadTimeout, d+readTimeout-sessionTimeout)
}

// TopicManagerConfig returns the topic manager configuration for the single
// test broker: one replica, and a generous wait for a created topic to show,
// since the broker may be busy with the other processes of a scenario.
func TopicManagerConfig() *goka.TopicManagerConfig {
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tmc.CreateTopicTimeout = 30 * time.Second
	return tmc
}

// ProcessorOptions returns the options that make a processor use cfg and tmc
// for every client it builds, and st for its tables.
func ProcessorOptions(cfg *sarama.Config, tmc *goka.TopicManagerConfig, st storage.Builder) []goka.ProcessorOption {
	return []goka.ProcessorOption{
		goka.WithStorageBuilder(st),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg, tmc)),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(cfg)),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(cfg)),
	}
}

// ViewOptions returns the options that make a view use cfg and tmc for its
// clients and st for its tables.
func ViewOptions(cfg *sarama.Config, tmc *goka.TopicManagerConfig, st storage.Builder) []goka.ViewOption {
	return []goka.ViewOption{
		goka.WithViewStorageBuilder(st),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg, tmc)),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)),
	}
}

// EmitterOptions returns the options that make an emitter send with cfg.
func EmitterOptions(cfg *sarama.Config, tmc *goka.TopicManagerConfig) []goka.EmitterOption {
	return []goka.EmitterOption{
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(cfg)),
		goka.WithEmitterTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg, tmc)),
	}
}
