// Command kafkaprobe exits 0 once a Kafka broker answers a metadata request
// that lists at least one broker (or -min-brokers) and a controller. scripts/kafka.sh uses it to
// tell a broker that listens from one that can serve clients: a KRaft broker
// accepts connections before it has registered with its controller. The
// cluster mode asks for all of its brokers: the metadata lists only those the
// controller has registered and not fenced.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// errNoBrokers means the broker answered but has not registered itself yet.
var errNoBrokers = errors.New("metadata lists no brokers")

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated broker addresses")
	timeout := flag.Duration("timeout", 2*time.Second, "deadline for the whole probe")
	minBrokers := flag.Int("min-brokers", 1, "brokers the metadata must list")
	flag.Parse()

	if err := probe(strings.Split(*brokers, ","), *timeout, *minBrokers); err != nil {
		fmt.Fprintf(os.Stderr, "kafkaprobe: %v\n", err)
		os.Exit(1)
	}
}

// probe makes one attempt; the caller loops, so that it can also watch the
// broker's process between attempts.
func probe(addrs []string, timeout time.Duration, minBrokers int) error {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.ClientID = "goka-kafkaprobe"
	cfg.Net.DialTimeout = timeout
	cfg.Net.ReadTimeout = timeout
	cfg.Net.WriteTimeout = timeout
	cfg.Metadata.Retry.Max = 0

	client, err := sarama.NewClient(addrs, cfg)
	if err != nil {
		return fmt.Errorf("connect %v: %w", addrs, err)
	}
	defer client.Close()

	if n := len(client.Brokers()); n == 0 {
		return errNoBrokers
	} else if n < minBrokers {
		return fmt.Errorf("metadata lists %d brokers, want %d", n, minBrokers)
	}
	if _, err := client.Controller(); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	return nil
}
