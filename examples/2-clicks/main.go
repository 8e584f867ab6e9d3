// Command 2-clicks counts the clicks of every user in a processor's group
// table and serves the counts over HTTP from a View of that table.
//
//	emitter --clicks--> processor "click-counter" --> table "click-counter-table"
//	                                                         |
//	                            HTTP GET /{user} <-- view ---+
//
// It runs on an embedded Kafka broker unless -brokers names a real one, and
// serves on a free port unless -addr names one:
//
//	go run ./examples/2-clicks
//	go run ./examples/2-clicks -brokers localhost:9092 -addr 127.0.0.1:9095
//	go run ./examples/2-clicks -duration 5s
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
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/web/health"
)

var (
	brokerList = flag.String("brokers", "", "comma-separated Kafka brokers; empty runs an embedded broker")
	addr       = flag.String("addr", "127.0.0.1:0", "HTTP listen address; port 0 picks a free one")
	duration   = flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	poll       = flag.Duration("poll", time.Second, "how often the program fetches a user's count from its own server and prints it, once /readyz is 200 (0: never)")
)

const (
	clicksStream goka.Stream = "example-user-clicks"
	group        goka.Group  = "click-counter"
	partitions               = 4
)

// users are the keys the emitter clicks for, in turn.
var users = []string{"user-0", "user-1", "user-2", "user-3", "user-4"}

// UserClicks is the value the processor keeps for each user. It is stored as
// JSON by codec.JSON, so the table is readable by any consumer, and so is
// what the HTTP server returns.
type UserClicks struct {
	Clicks    int       `json:"clicks"`
	LastClick time.Time `json:"last_click"`
}

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

	env, err := setup()
	if err != nil {
		return err
	}
	defer env.cleanup()

	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	if err := ensureStream(env.brokers, cfg, tmc); err != nil {
		return err
	}

	// The processor is built first: NewProcessor creates the group table,
	// which NewView needs to exist.
	graph := goka.DefineGroup(group,
		goka.Input(clicksStream, new(codec.String), count),
		goka.Persist(new(codec.JSON[UserClicks])),
	)
	proc, err := goka.NewProcessor(env.brokers, graph,
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithStorageBuilder(storage.DefaultBuilder(env.procPath)),
	)
	if err != nil {
		return err
	}
	// The view reads the same table with the same codec: GroupTable(group)
	// is the name the processor writes, "click-counter-table".
	view, err := goka.NewView(env.brokers, goka.GroupTable(group), new(codec.JSON[UserClicks]),
		goka.WithViewStorageBuilder(storage.DefaultBuilder(env.viewPath)),
	)
	if err != nil {
		return err
	}
	emitter, err := goka.NewEmitter(env.brokers, clicksStream, new(codec.String))
	if err != nil {
		return err
	}
	// The probes an orchestrator asks: live unless the processor or the
	// view failed or the emitter is finished; ready once both have restored
	// the table and caught up.
	probes := health.New()
	if err := errors.Join(probes.AttachProcessor(proc), probes.AttachView(view), probes.AttachEmitter(emitter)); err != nil {
		emitter.Finish()
		return err
	}
	srv, err := listen(*addr, view, probes)
	if err != nil {
		emitter.Finish()
		return err
	}
	fmt.Printf("serving the click counts at %s/{user}, try: curl %s/%s\n", srv.url, srv.url, users[0])
	fmt.Printf("probes at %s/healthz and %s/readyz\n", srv.url, srv.url)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	// start runs f in a goroutine; its error stops everything.
	start := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
				cancel()
			}
		}()
	}
	start("processor", func() error { return proc.Run(ctx) })
	start("view", func() error { return view.Run(ctx) })
	start("emitter", func() error { return emit(ctx, emitter) })
	start("http server", func() error { return srv.serve(ctx) })
	if *poll > 0 {
		start("poller", func() error {
			if err := awaitReady(ctx, srv.url+"/readyz", *poll/4); err != nil {
				return err
			}
			return pollCount(ctx, srv.url+"/"+users[0], *poll)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// count is the processor's callback: one more click for the user, at the
// time Kafka recorded it.
func count(ctx goka.Context, msg interface{}) {
	uc, _ := ctx.Value().(UserClicks) // the zero value for a new user
	uc.Clicks++
	uc.LastClick = ctx.Timestamp()
	ctx.SetValue(uc)
}

// emit sends a click for the next user every 100 ms until ctx ends.
func emit(ctx context.Context, emitter *goka.Emitter) error {
	defer emitter.Finish()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := emitter.EmitSync(users[i%len(users)], "click"); err != nil {
			return fmt.Errorf("emitting: %w", err)
		}
	}
}

// ensureStream creates the clicks stream if it is missing: the processor
// creates its own table, but its inputs must exist.
func ensureStream(brokers []string, cfg *sarama.Config, tmc *goka.TopicManagerConfig) error {
	tm, err := goka.NewTopicManager(brokers, cfg, tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	defer tm.Close()
	return tm.EnsureStreamExists(string(clicksStream), partitions)
}

// env is where the example runs: its brokers and the directories of the
// processor's and the view's local copies of the table, which must differ.
type env struct {
	brokers            []string
	procPath, viewPath string
	cleanup            func()
}

// setup returns a real broker's env when -brokers is given. Otherwise it
// starts an embedded broker and keeps the tables in a temporary directory,
// because a new embedded broker starts empty and an old local copy would not
// match it.
func setup() (*env, error) {
	if *brokerList != "" {
		return &env{
			brokers:  strings.Split(*brokerList, ","),
			procPath: goka.DefaultProcessorStoragePath(group),
			viewPath: goka.DefaultViewStoragePath(),
			cleanup:  func() {},
		}, nil
	}
	cluster, err := kafkatest.NewCluster()
	if err != nil {
		return nil, fmt.Errorf("starting the embedded broker: %w", err)
	}
	dir, err := os.MkdirTemp("", "goka-2-clicks-")
	if err != nil {
		cluster.Close()
		return nil, err
	}
	log.Printf("embedded Kafka broker at %v", cluster.Addrs())
	return &env{
		brokers:  cluster.Addrs(),
		procPath: filepath.Join(dir, "processor"),
		viewPath: filepath.Join(dir, "view"),
		cleanup: func() {
			cluster.Close()
			os.RemoveAll(dir)
		},
	}, nil
}
