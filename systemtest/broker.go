package systemtest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

// The environment variables the system tests read.
const (
	// EnvBrokers names the broker addresses, comma-separated.
	EnvBrokers = "KAFKA_BROKERS"
	// EnvRequire, set to 1, makes a missing broker a failure instead of a skip.
	EnvRequire = "REQUIRE_KAFKA"
)

// ErrNoBroker is returned by CheckEnvironment when REQUIRE_KAFKA=1 but
// KAFKA_BROKERS names no broker.
var ErrNoBroker = errors.New("systemtest: " + EnvRequire + "=1 but " + EnvBrokers +
	" is empty: start a broker with scripts/kafka.sh start (or run make systemtest)")

// skipMessage is loud on purpose: a skipped system test looks like a pass.
const skipMessage = "SYSTEM TESTS SKIPPED: " + EnvBrokers + " is not set. " +
	"Run `make systemtest` to install and start a real Kafka broker and run them, " +
	"or point " + EnvBrokers + " at a running broker (e.g. " + EnvBrokers +
	"=127.0.0.1:9092 after scripts/kafka.sh start). " +
	EnvRequire + "=1 turns this skip into a failure."

// BrokersFromEnv returns the addresses in KAFKA_BROKERS, or nil when it names
// none.
func BrokersFromEnv() []string {
	return addrsFromEnv(EnvBrokers)
}

// addrsFromEnv splits the comma-separated addresses in the variable env.
func addrsFromEnv(env string) []string {
	var addrs []string
	for _, a := range strings.Split(os.Getenv(env), ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// Required reports whether REQUIRE_KAFKA asks for a broker.
func Required() bool {
	return os.Getenv(EnvRequire) == "1"
}

// CheckEnvironment is meant for TestMain: it returns ErrNoBroker when a broker
// is required but neither the single broker nor the cluster is named, so that
// the whole package fails before any test runs, and otherwise writes the skip
// banner to w when no broker is named. A run that names only one of them runs
// the tests of that one (make systemtest selects them with -run and -skip);
// a test of the other skips, or fails under REQUIRE_KAFKA=1.
func CheckEnvironment(w io.Writer) error {
	if len(BrokersFromEnv()) > 0 || len(ClusterBrokersFromEnv()) > 0 {
		return nil
	}
	if Required() {
		return ErrNoBroker
	}
	_, _ = fmt.Fprintf(w, "\n*** %s ***\n\n", skipMessage)
	return nil
}

// Brokers returns the broker addresses for a test, skipping the test when there
// are none, or failing it when REQUIRE_KAFKA=1.
func Brokers(tb testing.TB) []string {
	tb.Helper()
	addrs := BrokersFromEnv()
	if len(addrs) > 0 {
		return addrs
	}
	if Required() {
		tb.Fatal(ErrNoBroker)
	}
	tb.Skip(skipMessage)
	return nil
}

// NewConfig returns the sarama configuration the system tests start from: the
// protocol version the library defaults to (every request above Kafka 4's
// floor), and results reported back so tests can wait on them.
func NewConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.ClientID = "goka-systemtest"
	cfg.Metadata.AllowAutoTopicCreation = false
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Return.Errors = true
	return cfg
}
