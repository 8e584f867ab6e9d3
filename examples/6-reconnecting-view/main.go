// Command 6-reconnecting-view runs a View with WithViewAutoReconnect and
// prints every state it goes through. When the view loses its brokers it
// goes to Connecting, keeps serving the values it has, tries again with
// backoff, and catches up once the brokers are back, all inside one call of
// Run.
//
// On the embedded broker the program cuts the view's connection itself: the
// broker sits behind a TCP proxy that resets every connection of the view for
// -cut-for, after the view has run for -cut-after. A writer, which goes
// around the proxy, keeps updating the table meanwhile.
//
//	go run ./examples/6-reconnecting-view -duration 8s
//	go run ./examples/6-reconnecting-view -brokers localhost:9092   # then stop and restart Kafka
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
	"github.com/seed-b2c684ed/goka/storage"
)

var (
	brokerList = flag.String("brokers", "", "comma-separated Kafka brokers; empty runs an embedded broker behind a proxy the program cuts")
	duration   = flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	cutAfter   = flag.Duration("cut-after", time.Second, "embedded broker: cut the view's connection this long after it is running")
	cutFor     = flag.Duration("cut-for", 2*time.Second, "embedded broker: restore the connection after this long")
)

const (
	table      goka.Table = "example-reconnect-table"
	partitions            = 2
	// tickKey is the one key the writer updates.
	tickKey = "ticks"
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

	env, err := setup()
	if err != nil {
		return err
	}
	defer env.cleanup()

	cfg := viewConfig()
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	if err := ensureTable(env.brokers, cfg, tmc); err != nil {
		return err
	}
	writer, err := goka.NewEmitter(env.brokers, goka.Stream(table), new(codec.Int64),
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(env.writerConfig)))
	if err != nil {
		return err
	}

	view, err := goka.NewView(env.brokers, table, new(codec.Int64),
		// Without it, Run returns the first connection error.
		goka.WithViewAutoReconnect(),
		// The default backoff waits 10 s more after every failed attempt;
		// a demo wants to see the retries.
		goka.WithViewBackoffBuilder(func() (goka.Backoff, error) {
			return goka.NewSimpleBackoff(500*time.Millisecond, 2*time.Second), nil
		}),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg, tmc)),
		// A view restores its table from Kafka at every start, so memory
		// is enough for one that is small.
		goka.WithViewStorageBuilder(storage.MemoryBuilder()),
	)
	if err != nil {
		writer.Finish()
		return err
	}

	// Observed before Run, so the history starts at Idle.
	obs := view.ObserveStateChanges()
	history := make(chan []string, 1)
	go func() { history <- observe(obs) }()

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
	start("view", func() error { return view.Run(ctx) })
	start("writer", func() error { return write(ctx, writer, view) })
	start("reader", func() error { return read(ctx, view) })
	if env.proxy != nil {
		start("cutter", func() error { return cutOnce(ctx, view, env.proxy, *cutAfter, *cutFor) })
	} else {
		fmt.Println("stop your Kafka broker and start it again to see the view reconnect")
	}
	wg.Wait()

	// Run has returned: the view is Idle again, and the observer can stop.
	obs.Stop()
	fmt.Printf("states seen: %s\n", strings.Join(<-history, " → "))
	return errors.Join(errs...)
}

// observe prints every new state of the view and returns them all, in order,
// once the observer is stopped. Repeated states are skipped; a reader too
// slow for a quick succession would see only the newest, never block the
// view.
func observe(obs *goka.StateChangeObserver) []string {
	var seen []string
	for state := range obs.C() {
		name := stateName(goka.ViewState(state))
		if len(seen) > 0 && seen[len(seen)-1] == name {
			continue
		}
		seen = append(seen, name)
		fmt.Printf("[%s] view state: %s\n", time.Now().Format("15:04:05.000"), name)
	}
	return seen
}

// stateName names a view state; an observer delivers them as goka.State.
func stateName(s goka.ViewState) string {
	switch s {
	case goka.ViewStateIdle:
		return "Idle"
	case goka.ViewStateInitializing:
		return "Initializing"
	case goka.ViewStateConnecting:
		return "Connecting"
	case goka.ViewStateCatchUp:
		return "CatchUp"
	case goka.ViewStateRunning:
		return "Running"
	}
	return fmt.Sprintf("State(%d)", s)
}

// write counts up in the table's one key every 200 ms, once the view has
// read the table. On a real broker the writer loses the broker too when it
// stops: it reports the first failure of an outage and keeps trying, as the
// view does.
func write(ctx context.Context, writer *goka.Emitter, view *goka.View) error {
	defer writer.Finish()
	// On a real broker the table may hold a count of an earlier run, to
	// go on from.
	if err := view.WaitRecovered(ctx); err != nil {
		return nil // the view failed or the program stops; Run reports it
	}
	n := int64(1)
	if last, err := view.Get(tickKey); err == nil && last != nil {
		n = last.(int64) + 1
	}
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		err := writer.EmitSync(tickKey, n)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !failing:
			failing = true
			fmt.Printf("[%s] writer: %v; trying again\n", time.Now().Format("15:04:05.000"), err)
		case err == nil:
			if failing {
				failing = false
				fmt.Printf("[%s] writer: writing again\n", time.Now().Format("15:04:05.000"))
			}
			n++
		}
	}
}

// read prints the view's value every 500 ms. During a cut the value stops
// growing but stays readable: the view serves what it has.
func read(ctx context.Context, view *goka.View) error {
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		value, err := view.Get(tickKey)
		switch {
		case err != nil:
			fmt.Printf("[%s] get %s: %v\n", time.Now().Format("15:04:05.000"), tickKey, err)
		default:
			fmt.Printf("[%s] get %s: %v (state %s)\n", time.Now().Format("15:04:05.000"), tickKey, value, stateName(view.CurrentState()))
		}
	}
}

// viewConfig is the view's client configuration. A Kafka client retries
// quietly for a while before it reports a broken connection; shorter waits
// make the view notice a cut within a second.
func viewConfig() *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Net.DialTimeout = time.Second
	cfg.Net.ReadTimeout = 2 * time.Second
	cfg.Net.WriteTimeout = 2 * time.Second
	cfg.Metadata.Retry.Max = 1
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Consumer.Retry.Backoff = 100 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	return cfg
}

// ensureTable creates the table topic, log-compacted, if it is missing.
func ensureTable(brokers []string, cfg *sarama.Config, tmc *goka.TopicManagerConfig) error {
	tm, err := goka.NewTopicManager(brokers, cfg, tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	defer tm.Close()
	return tm.EnsureTableExists(string(table), partitions)
}
