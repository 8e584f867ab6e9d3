package systemtest

import (
	"testing"

	"github.com/IBM/sarama"

	goka "github.com/seed-b2c684ed/goka"
)

// EnvClusterBrokers names the addresses of the three-broker cluster that
// `scripts/kafka.sh cluster-start` runs, comma-separated. The scenarios that
// kill a partition leader need it: on a single broker a leader cannot fail
// over.
const EnvClusterBrokers = "KAFKA_CLUSTER_BROKERS"

// ClusterReplication is the replication factor of every topic of the cluster
// scenarios; the cluster's min.insync.replicas is 2, so one broker may be
// down without a write being refused.
const ClusterReplication = 3

// clusterSkipMessage is loud for the same reason as skipMessage.
const clusterSkipMessage = "CLUSTER SYSTEM TESTS SKIPPED: " + EnvClusterBrokers + " is not set. " +
	"Run `make systemtest`, or start the three-broker cluster with scripts/kafka.sh cluster-start " +
	"and set " + EnvClusterBrokers + " to the addresses it prints. " +
	EnvRequire + "=1 turns this skip into a failure."

// ClusterBrokersFromEnv returns the addresses in KAFKA_CLUSTER_BROKERS, or nil
// when it names none.
func ClusterBrokersFromEnv() []string {
	return addrsFromEnv(EnvClusterBrokers)
}

// ClusterBrokers returns the cluster's addresses for a test, skipping the test
// when there are none, or failing it when REQUIRE_KAFKA=1.
func ClusterBrokers(tb testing.TB) []string {
	tb.Helper()
	addrs := ClusterBrokersFromEnv()
	if len(addrs) > 0 {
		return addrs
	}
	if Required() {
		tb.Fatal("systemtest: " + EnvRequire + "=1 but " + EnvClusterBrokers +
			" is empty: start the cluster with scripts/kafka.sh cluster-start (or run make systemtest)")
	}
	tb.Skip(clusterSkipMessage)
	return nil
}

// ClusterConfig returns the sarama configuration of the cluster scenarios'
// processors and emitters: the library's defaults for everything that decides
// durability (acknowledgements, idempotence, producer and metadata retries),
// since those are what the scenarios test, with FastConfig's group and network
// timeouts so that a kill shows within seconds.
func ClusterConfig() *sarama.Config {
	return fastTimeouts(goka.DefaultConfig())
}

// ClusterTopicManagerConfig returns the topic manager configuration of the
// cluster scenarios: tables and streams with ClusterReplication replicas.
func ClusterTopicManagerConfig() *goka.TopicManagerConfig {
	tmc := TopicManagerConfig()
	tmc.Table.Replication = ClusterReplication
	tmc.Stream.Replication = ClusterReplication
	return tmc
}
