// Command 5-multiple runs one copy of a service that can run many times side
// by side: a processor that reads two input streams into one group table, a
// view of that table, and a web server with the monitor, the query page,
// pprof and the Prometheus metrics of this copy. Every copy keeps its tables in a fresh temporary directory, so
// copies on one machine never share a store, and Kafka spreads the
// partitions over the copies: start a second or third copy against the same
// broker and watch each one report the partitions it owns.
//
//	go run ./examples/5-multiple                          # embedded broker, one copy
//	go run ./examples/5-multiple -brokers localhost:9092  # a real broker; start it 2-3 times
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
)

var (
	brokerList = flag.String("brokers", "", "comma-separated Kafka brokers; empty runs an embedded broker")
	duration   = flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	addr       = flag.String("addr", "127.0.0.1:0", "HTTP address of the web UI and pprof (port 0: a free one)")
	partitions = flag.Int("partitions", 6, "partitions of the input streams when this copy creates them")
	interval   = flag.Duration("interval", 200*time.Millisecond, "pause between two emitted events per stream")
	status     = flag.Duration("status", 2*time.Second, "how often to print the status line")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	brokers, closeBroker, err := connect()
	if err != nil {
		return err
	}
	defer closeBroker()

	// Each copy gets a store of its own: two copies in one directory would
	// fight over LevelDB's lock, and a copy that takes over a partition
	// recovers it from the table topic anyway.
	dir, err := os.MkdirTemp("", "goka-5-multiple-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	// Members notice a rebalance on their next heartbeat: a short interval
	// makes a new copy get its partitions within a second or so.
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	goka.ReplaceGlobalConfig(cfg)

	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	if err := createInputs(brokers, cfg, tmc); err != nil {
		return err
	}

	// A registry per copy: each copy serves the series of the partitions it
	// owns, and Prometheus tells the copies apart by the address it scrapes.
	reg := newRegistry()

	owned := new(ownership)
	proc, err := goka.NewProcessor(brokers, graph(),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, "processor"))),
		goka.WithRebalanceCallback(owned.rebalanced),
		goka.WithMetrics(reg),
	)
	if err != nil {
		return err
	}
	view, err := goka.NewView(brokers, goka.GroupTable(group), tallyCodec,
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithViewStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, "view"))),
		goka.WithViewMetrics(reg),
	)
	if err != nil {
		return err
	}

	web, err := startWeb(*addr, proc, view, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if err != nil {
		return err
	}
	fmt.Printf("web UI at %s (monitor %smonitor/processor/0, metrics %smetrics)\n", web.url, web.url, web.url)

	// The first component to fail stops the others; all of them return once
	// ctx is done.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
				cancel()
			}
		}()
	}
	start("processor", proc.Run)
	start("view", view.Run)
	start("emitter", func(ctx context.Context) error { return emit(ctx, brokers, reg) })
	start("status", func(ctx context.Context) error { return report(ctx, owned, view) })
	wg.Wait()

	return errors.Join(append(errs, web.shutdown())...)
}

// newRegistry returns the registry served at /metrics: the runtime's and
// the process's own metrics next to goka's, as a Prometheus scrape of any Go
// service would expect.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// createInputs creates the two input streams with the same number of
// partitions: a processor's inputs must be copartitioned.
func createInputs(brokers []string, cfg *sarama.Config, tmc *goka.TopicManagerConfig) error {
	tm, err := goka.NewTopicManager(brokers, cfg, tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	defer tm.Close()
	for _, topic := range []goka.Stream{likes, shares} {
		if err := tm.EnsureStreamExists(string(topic), *partitions); err != nil {
			return err
		}
	}
	return nil
}

// connect returns the brokers of -brokers, or starts an embedded one. The
// embedded broker lives in this process, so only one copy can use it: the
// rebalancing needs a real broker.
func connect() (brokers []string, closeBroker func(), err error) {
	if *brokerList != "" {
		return strings.Split(*brokerList, ","), func() {}, nil
	}
	cluster, err := kafkatest.NewCluster()
	if err != nil {
		return nil, nil, fmt.Errorf("starting the embedded broker: %w", err)
	}
	log.Printf("embedded Kafka broker at %v", cluster.Addrs())
	return cluster.Addrs(), cluster.Close, nil
}
