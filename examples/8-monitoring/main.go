// Command 8-monitoring runs a small click-tracking pipeline of four
// processors, one of each kind, and serves every web component on one HTTP
// server: the monitor (live partitions, offsets, lag and rates), the query
// page (one key of a table), the actions page (emit a burst of clicks, pause
// the stream) and an index linking them. Clicks flow all the time, so the
// pages show live numbers. The same server exposes the Prometheus metrics of
// the processors, the view and the emitter at /metrics, and their liveness
// and readiness probes at /healthz and /readyz; -slow makes the counter's
// callback slower than the clicks arrive, so a backlog builds up and its
// consumer lag shows there, on the monitor and, once over -ready-lag, in
// /readyz.
//
//	go run ./examples/8-monitoring                          # embedded broker
//	go run ./examples/8-monitoring -brokers localhost:9092  # a real broker
//	go run ./examples/8-monitoring -slow 250ms              # a growing backlog
//	go run ./examples/8-monitoring -slow 250ms -ready-lag 5 # ...that /readyz reports
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
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/web/health"
)

var (
	brokerList = flag.String("brokers", "", "comma-separated Kafka brokers; empty runs an embedded broker")
	duration   = flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	addr       = flag.String("addr", "127.0.0.1:0", "HTTP address of the web UI (port 0: a free one)")
	partitions = flag.Int("partitions", 4, "partitions of the streams when this program creates them")
	interval   = flag.Duration("interval", 50*time.Millisecond, "pause between two clicks of the steady stream")
	status     = flag.Duration("status", 2*time.Second, "how often to print the status line")
	slow       = flag.Duration("slow", 0, "time the counter's callback spends on each click (simulated work; 0: none)")
	readyLag   = flag.Int64("ready-lag", health.DefaultMaxLag, "consumer lag (messages) above which /readyz reports a partition not ready")
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

	// A new directory per run: the embedded broker starts empty, and a
	// table kept from an earlier run would not match it. On a real broker
	// the processors recover their tables from Kafka at every start.
	dir, err := os.MkdirTemp("", "goka-8-monitoring-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	if err := createStreams(brokers, cfg, tmc); err != nil {
		return err
	}

	// One registry for every component: the group and topic labels tell
	// them apart.
	reg := newRegistry()

	// The counter comes first: its constructor creates the table that the
	// others join and look up, and they check it exists.
	var procs []*goka.Processor
	for _, gg := range []*goka.GroupGraph{counterGraph(*slow), mainGraph(), routerGraph(), pagesGraph()} {
		p, err := goka.NewProcessor(brokers, gg,
			goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
			goka.WithStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, string(gg.Group())))),
			goka.WithMetrics(reg),
		)
		if err != nil {
			return fmt.Errorf("processor %s: %w", gg.Group(), err)
		}
		procs = append(procs, p)
	}
	counter, main, router, pagesProc := procs[0], procs[1], procs[2], procs[3]

	view, err := goka.NewView(brokers, counterTable, new(codec.Int64),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithViewStorageBuilder(storage.DefaultBuilder(filepath.Join(dir, "view"))),
		goka.WithViewMetrics(reg),
	)
	if err != nil {
		return err
	}

	emitter, err := goka.NewEmitter(brokers, clicks, new(codec.String), goka.WithEmitterMetrics(reg))
	if err != nil {
		return err
	}
	src := &clickSource{emitter: emitter}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	web, err := startWeb(ctx, *addr, components{
		// The main processor is /monitor/processor/0.
		processors: []*goka.Processor{main, counter, router, pagesProc},
		view:       view,
		sources: map[string]goka.Getter{
			"clicks":  view.Get,
			"profile": main.Get,
			"pages":   pagesProc.Get,
		},
		clicks:   src,
		emitter:  emitter,
		metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		readyLag: *readyLag,
	})
	if err != nil {
		return errors.Join(err, emitter.Finish())
	}
	fmt.Printf("web UI at %s (monitor %smonitor/processor/0, metrics %smetrics, probes %shealthz %sreadyz)\n", web.url, web.url, web.url, web.url, web.url)

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
	for _, p := range procs {
		start(string(p.Graph().Group()), p.Run)
	}
	start("view", view.Run)
	start("clicks", func(ctx context.Context) error { return src.steady(ctx, *interval) })
	start("status", func(ctx context.Context) error { return report(ctx, src, view) })
	wg.Wait()

	// The actions use the emitter: finish it after the last one ended.
	errs = append(errs, web.shutdown())
	if err := emitter.Finish(); err != nil {
		errs = append(errs, fmt.Errorf("finishing the emitter: %w", err))
	}
	return errors.Join(errs...)
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

// report prints every -status how many clicks were sent and what the view of
// the counter's table adds up to.
func report(ctx context.Context, src *clickSource, view *goka.View) error {
	ticker := time.NewTicker(*status)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if !view.Recovered() {
			fmt.Printf("[status] emitted %d clicks; view recovering\n", src.sent.Load())
			continue
		}
		users, total, err := sum(view)
		if err != nil {
			if ctx.Err() != nil {
				return nil // the view stopped under us: shutting down
			}
			return err
		}
		fmt.Printf("[status] emitted %d clicks; counted %d clicks of %d users\n", src.sent.Load(), total, users)
	}
}

func sum(view *goka.View) (users int, total int64, err error) {
	it, err := view.Iterator()
	if err != nil {
		return 0, 0, fmt.Errorf("iterating the view: %w", err)
	}
	defer it.Release()
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			return 0, 0, fmt.Errorf("reading %q from the view: %w", it.Key(), err)
		}
		users++
		total += v.(int64)
	}
	return users, total, it.Err()
}

func createStreams(brokers []string, cfg *sarama.Config, tmc *goka.TopicManagerConfig) error {
	tm, err := goka.NewTopicManager(brokers, cfg, tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	defer tm.Close()
	for _, s := range []goka.Stream{clicks, visits} {
		if err := tm.EnsureStreamExists(string(s), *partitions); err != nil {
			return err
		}
	}
	return nil
}

// connect returns the brokers of -brokers, or starts an embedded one.
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
