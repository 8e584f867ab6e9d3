// Command 3-messaging is a small messaging service built from five processors
// and a front, all in one program; the subcommands run any of them, so they
// can also run as separate processes against a real cluster.
//
//	service     HTTP: POST /{user}/send writes to the sent stream (Emitter),
//	            GET /{user}/feed reads the collector's table (View)
//	filter      sent -> received, dropping messages of blocked users (Join of
//	            the blocker's table) and replacing words (Lookup of the
//	            translator's table), written with Output/Emit
//	collector   received -> the last messages of each user (Persist)
//	blocker     block-user -> who is blocked (Persist, Delete)
//	translator  translate-word -> the replacement of each word (Persist)
//	detector    sent -> counters per user through its loop (Loop, Loopback);
//	            asks the blocker to block spammers (Output/Emit)
//
// Usage:
//
//	go run ./examples/3-messaging -demo                       # a scripted session that ends by itself
//	go run ./examples/3-messaging                             # every component, until Ctrl-C
//	go run ./examples/3-messaging -brokers localhost:9092 run filter collector
//	go run ./examples/3-messaging -brokers localhost:9092 block-user -user mallory
//	go run ./examples/3-messaging -brokers localhost:9092 translate-word -word gonna -to "going to"
//
// Without -brokers, run starts an embedded broker and prints its address, so
// block-user and translate-word can reach it from another terminal.
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
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
)

var (
	brokerList = flag.String("brokers", "", "comma-separated Kafka brokers; empty runs an embedded broker")
	addr       = flag.String("addr", "127.0.0.1:0", "HTTP listen address of the service; port 0 picks a free one")
	duration   = flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	demo       = flag.Bool("demo", false, "start every component, play a scripted session, print the feeds and exit")
)

// components are the parts the run command starts, in this order.
var components = []string{"blocker", "translator", "collector", "filter", "detector", "service"}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] [run [component...] | block-user ... | translate-word ...]\n\ncomponents: %s\n\nflags:\n",
			filepath.Base(os.Args[0]), strings.Join(components, " "))
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := dispatch(flag.Args()); err != nil {
		log.Fatal(err)
	}
}

func dispatch(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	command := "run"
	if len(args) > 0 {
		command, args = args[0], args[1:]
	}
	if *demo {
		command, args = "demo", nil
	}
	switch command {
	case "run", "demo":
	case "block-user", "translate-word":
		if *brokerList == "" {
			return fmt.Errorf("%s needs -brokers: the address of a real broker, or the one printed by the run command", command)
		}
	default:
		flag.Usage()
		return fmt.Errorf("unknown command %q", command)
	}

	a, cleanup, err := newApp(command == "demo")
	if err != nil {
		return err
	}
	defer cleanup()
	switch command {
	case "block-user":
		return blockUserCommand(a, args)
	case "translate-word":
		return translateWordCommand(a, args)
	case "demo":
		return a.demo(ctx)
	}
	if len(args) == 0 {
		args = components
	}
	if *brokerList == "" {
		fmt.Printf("embedded Kafka broker at %s; from another terminal:\n", strings.Join(a.brokers, ","))
		fmt.Printf("  go run ./examples/3-messaging -brokers %s block-user -user mallory\n", strings.Join(a.brokers, ","))
		fmt.Printf("  go run ./examples/3-messaging -brokers %s translate-word -word gonna -to \"going to\"\n", strings.Join(a.brokers, ","))
	}
	sys, err := a.build(args)
	if err != nil {
		return err
	}
	if sys.service != nil {
		fmt.Printf("service at %s; try:\n", sys.service.url)
		fmt.Printf("  curl -d '{\"to\":\"bob\",\"content\":\"hi bob\"}' %s/alice/send\n", sys.service.url)
		fmt.Printf("  curl %s/bob/feed\n", sys.service.url)
	}
	return sys.run(ctx)
}

// app holds what every component needs: where Kafka is, how topics are
// created, where tables are kept, and where events are printed.
type app struct {
	brokers    []string
	storageDir string // "" on a real broker: the library's default paths
	tmc        *goka.TopicManagerConfig
	log        *journal
}

// newApp connects to the brokers, or starts an embedded one with its tables
// in a temporary directory, and creates the topics. The journal keeps events
// for the demo to wait on.
func newApp(keepEvents bool) (*app, func(), error) {
	// A new group starts at the oldest message, so nothing sent before a
	// component first started is missed.
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	// Replication 1 suits one broker; raise it for a production cluster.
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1

	a := &app{tmc: tmc, log: newJournal(keepEvents)}
	cleanup := func() {}
	if *brokerList != "" {
		a.brokers = strings.Split(*brokerList, ",")
	} else {
		cluster, err := kafkatest.NewCluster()
		if err != nil {
			return nil, nil, fmt.Errorf("starting the embedded broker: %w", err)
		}
		dir, err := os.MkdirTemp("", "goka-3-messaging-")
		if err != nil {
			cluster.Close()
			return nil, nil, err
		}
		a.brokers, a.storageDir = cluster.Addrs(), dir
		cleanup = func() {
			cluster.Close()
			os.RemoveAll(dir)
		}
	}
	if err := a.ensureTopics(cfg); err != nil {
		cleanup()
		return nil, nil, err
	}
	return a, cleanup, nil
}

// ensureTopics creates every stream, and the tables other components read:
// a join, a lookup or a view needs its table to exist before the processor
// that writes it has ever started. The detector's loop and table are its own
// and created by NewProcessor.
func (a *app) ensureTopics(cfg *sarama.Config) error {
	tm, err := goka.NewTopicManager(a.brokers, cfg, a.tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", a.brokers, err)
	}
	defer tm.Close()
	for _, s := range []goka.Stream{sentStream, receivedStream, blockStream, translateStream} {
		if err := tm.EnsureStreamExists(string(s), partitions); err != nil {
			return err
		}
	}
	for _, g := range []goka.Group{blockerGroup, translatorGroup, collectorGroup} {
		if err := tm.EnsureTableExists(string(goka.GroupTable(g)), partitions); err != nil {
			return err
		}
	}
	return nil
}

// processorStorage is where a group keeps its tables, including its joins
// and lookups.
func (a *app) processorStorage(g goka.Group) storage.Builder {
	if a.storageDir == "" {
		return storage.DefaultBuilder(goka.DefaultProcessorStoragePath(g))
	}
	return storage.DefaultBuilder(filepath.Join(a.storageDir, string(g)))
}

func (a *app) viewStorage() storage.Builder {
	if a.storageDir == "" {
		return storage.DefaultBuilder(goka.DefaultViewStoragePath())
	}
	return storage.DefaultBuilder(filepath.Join(a.storageDir, "view"))
}

// system is a set of components built to run together.
type system struct {
	procs   map[string]*goka.Processor // by component name
	service *service                   // nil unless built
}

// build builds the named components.
func (a *app) build(names []string) (*system, error) {
	graphs := map[string]func() *goka.GroupGraph{
		"collector":  a.collectorGraph,
		"filter":     a.filterGraph,
		"blocker":    a.blockerGraph,
		"translator": a.translatorGraph,
		"detector":   a.detectorGraph,
	}
	sys := &system{procs: make(map[string]*goka.Processor)}
	for _, name := range names {
		if !slices.Contains(components, name) {
			return nil, fmt.Errorf("unknown component %q; the components are %s", name, strings.Join(components, ", "))
		}
		if name == "service" {
			s, err := a.newService(*addr)
			if err != nil {
				return nil, fmt.Errorf("service: %w", err)
			}
			sys.service = s
			continue
		}
		gg := graphs[name]()
		proc, err := goka.NewProcessor(a.brokers, gg,
			goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(a.tmc)),
			goka.WithStorageBuilder(a.processorStorage(gg.Group())),
		)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		sys.procs[name] = proc
	}
	return sys, nil
}

// run runs every component until ctx ends or one fails, which stops the
// others, and returns when all have stopped.
func (s *system) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	start := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
				cancel()
			}
		}()
	}
	for name, proc := range s.procs {
		start(name, proc.Run)
	}
	if s.service != nil {
		start("service", s.service.run)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ready waits until every processor processes and the service's view has
// read its table.
func (s *system) ready(ctx context.Context) error {
	for name, proc := range s.procs {
		if err := proc.WaitForReadyContext(ctx); err != nil {
			return fmt.Errorf("waiting for %s: %w", name, err)
		}
	}
	if s.service != nil {
		if err := s.service.view.WaitRecovered(ctx); err != nil {
			return fmt.Errorf("waiting for the service: %w", err)
		}
	}
	return nil
}
