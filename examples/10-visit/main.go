// Command 10-visit resets every counter of a running processor with a
// visitor: VisitAllWithStats calls the visitor's callback once for every key
// of the group table, in the partition's own goroutine, between the messages
// it processes, so the reset needs neither a stop nor a lock.
//
// An emitter clicks for three users every 100 ms; a processor counts the
// clicks per user; every -reset-every the program prints the counts, resets
// them all to 0 and prints them again.
//
//	go run ./examples/10-visit
//	go run ./examples/10-visit -brokers localhost:9092
//	go run ./examples/10-visit -duration 5s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
)

var (
	brokerList = flag.String("brokers", "", "comma-separated Kafka brokers; empty runs an embedded broker")
	duration   = flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	resetEvery = flag.Duration("reset-every", 2*time.Second, "how often to reset every counter")
)

const (
	clicksStream goka.Stream = "example-visit-clicks"
	group        goka.Group  = "visit-counter"
	partitions               = 4

	// resetVisitor names the visitor in the graph and in VisitAll.
	resetVisitor = "reset"
)

var users = []string{"alice", "bob", "carol"}

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

	brokers, storagePath, cleanup, err := setup()
	if err != nil {
		return err
	}
	defer cleanup()

	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	if err := ensureStream(brokers, cfg, tmc); err != nil {
		return err
	}

	graph := goka.DefineGroup(group,
		goka.Input(clicksStream, new(codec.String), count),
		// A visitor is a callback like any other, called with the meta
		// value given to VisitAll instead of a message.
		goka.Visitor(resetVisitor, reset),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(brokers, graph,
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithStorageBuilder(storage.DefaultBuilder(storagePath)),
	)
	if err != nil {
		return err
	}
	emitter, err := goka.NewEmitter(brokers, clicksStream, new(codec.String))
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
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
	start("emitter", func() error { return emit(ctx, emitter) })
	start("resetter", func() error { return resetPeriodically(ctx, proc, *resetEvery) })
	wg.Wait()
	return errors.Join(errs...)
}

// count adds one to the user's counter.
func count(ctx goka.Context, msg interface{}) {
	n, _ := ctx.Value().(int64)
	ctx.SetValue(n + 1)
}

// reset sets the visited key's counter to the value passed to VisitAll. It
// runs in the key's partition like count, so no click is counted while it
// runs and none is lost: a click is either counted before the reset or after.
func reset(ctx goka.Context, meta interface{}) {
	ctx.SetValue(meta)
}

// resetPeriodically waits for the processor to be ready, then resets every
// counter every interval, printing the counts before and after.
func resetPeriodically(ctx context.Context, proc *goka.Processor, interval time.Duration) error {
	if err := proc.WaitForReadyContext(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		fmt.Printf("counts before reset: %s\n", counts(proc))
		began := time.Now()
		// The meta value reaches every visit as its message: int64(0)
		// is what reset writes, in the table's codec type.
		visited, err := proc.VisitAllWithStats(ctx, resetVisitor, int64(0))
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped during the visit
			}
			return fmt.Errorf("visiting: %w", err)
		}
		fmt.Printf("reset: visited %d keys in %v\n", visited, time.Since(began).Round(time.Millisecond))
		// VisitAll returns once every visited key's new value is stored and
		// acknowledged, so Get reads the reset values, plus any click that
		// arrived since.
		fmt.Printf("counts after reset:  %s\n", counts(proc))
	}
}

// counts reads every user's counter from the processor's local table.
func counts(proc *goka.Processor) string {
	parts := make([]string, len(users))
	for i, user := range users {
		value, err := proc.Get(user)
		switch {
		case err != nil:
			parts[i] = fmt.Sprintf("%s=(%v)", user, err)
		case value == nil:
			parts[i] = user + "=0"
		default:
			parts[i] = fmt.Sprintf("%s=%d", user, value.(int64))
		}
	}
	return strings.Join(parts, " ")
}

// emit clicks for the next user every 100 ms until ctx ends.
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

// ensureStream creates the clicks stream if it is missing.
func ensureStream(brokers []string, cfg *sarama.Config, tmc *goka.TopicManagerConfig) error {
	tm, err := goka.NewTopicManager(brokers, cfg, tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	defer tm.Close()
	return tm.EnsureStreamExists(string(clicksStream), partitions)
}

// setup returns the brokers and the table's directory: a real broker's with
// -brokers, else an embedded broker and a temporary directory, since a new
// embedded broker starts empty and an old local table would not match it.
func setup() (brokers []string, storagePath string, cleanup func(), err error) {
	if *brokerList != "" {
		return strings.Split(*brokerList, ","), goka.DefaultProcessorStoragePath(group), func() {}, nil
	}
	cluster, err := kafkatest.NewCluster()
	if err != nil {
		return nil, "", nil, fmt.Errorf("starting the embedded broker: %w", err)
	}
	dir, err := os.MkdirTemp("", "goka-10-visit-")
	if err != nil {
		cluster.Close()
		return nil, "", nil, err
	}
	log.Printf("embedded Kafka broker at %v", cluster.Addrs())
	return cluster.Addrs(), dir, func() {
		cluster.Close()
		os.RemoveAll(dir)
	}, nil
}
