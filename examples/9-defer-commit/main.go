// Command 9-defer-commit forwards messages through an Emitter of its own and
// holds each message's commit with ctx.DeferCommit until the forward is
// acknowledged, so a message whose forward failed is read again instead of
// lost.
//
// The program is a demonstration that ends by itself. It sends a few
// messages, runs the forwarding processor until they are forwarded and stops
// it; then it sends a few more and runs the processor again, as after a
// restart, and counts the messages the second run reads that the first had
// already forwarded:
//
//	go run ./examples/9-defer-commit               # none: every commit was released
//	go run ./examples/9-defer-commit -no-commit    # all: no commit was ever released
//	go run ./examples/9-defer-commit -brokers localhost:9092
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/kafkatest"
)

var (
	brokerList = flag.String("brokers", "", "comma-separated Kafka brokers; empty runs an embedded broker")
	noCommit   = flag.Bool("no-commit", false, "never release the deferred commits, so the restarted processor reads every message again")
	messages   = flag.Int("messages", 5, "messages to send before each run")
	timeout    = flag.Duration("timeout", 30*time.Second, "give up when a run has not forwarded its messages within this")
)

const (
	inStream  goka.Stream = "example-defer-in"
	outStream goka.Stream = "example-defer-out"
	group     goka.Group  = "defer-forwarder"
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

	brokers, cleanup, err := setup()
	if err != nil {
		return err
	}
	defer cleanup()

	// A new group starts at the oldest message, so the first run reads what
	// was sent before it joined.
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	tmc := goka.NewTopicManagerConfig()
	tmc.Stream.Replication = 1
	if err := ensureStreams(brokers, cfg, tmc); err != nil {
		return err
	}

	in, err := goka.NewEmitter(brokers, inStream, new(codec.String))
	if err != nil {
		return err
	}
	defer in.Finish()
	// The forwarder's emitter lives as long as the program, across both
	// runs of the processor, as a client of another system would.
	out, err := goka.NewEmitter(brokers, outStream, new(codec.String))
	if err != nil {
		return err
	}
	defer out.Finish()

	// On a real broker the input keeps the messages of earlier runs of this
	// program; the run ID tells this run's apart.
	runID := time.Now().Format("150405")
	batch := func(from int) ([]string, error) {
		values := make([]string, *messages)
		for i := range values {
			values[i] = fmt.Sprintf("%s-msg-%d", runID, from+i)
			if err := in.EmitSync(fmt.Sprintf("key-%d", from+i), values[i]); err != nil {
				return nil, fmt.Errorf("sending %s: %w", values[i], err)
			}
		}
		return values, nil
	}

	mode := "every commit released once the forward is acknowledged"
	if *noCommit {
		mode = "-no-commit: no commit ever released"
	}
	fmt.Printf("mode: %s\n", mode)

	first, err := batch(0)
	if err != nil {
		return err
	}
	fmt.Printf("sent %d messages; run 1 of the processor:\n", len(first))
	seen1, err := runOnce(ctx, "run 1", brokers, tmc, out, first)
	if err != nil {
		return interrupted(ctx, err)
	}
	report("run 1", seen1, first, nil)

	second, err := batch(len(first))
	if err != nil {
		return err
	}
	fmt.Printf("sent %d more messages; run 2 of the processor, as after a restart:\n", len(second))
	seen2, err := runOnce(ctx, "run 2", brokers, tmc, out, second)
	if err != nil {
		return interrupted(ctx, err)
	}
	report("run 2", seen2, second, seen1)
	return nil
}

// interrupted turns the error of a run stopped by Ctrl-C into a clean exit.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		fmt.Println("interrupted")
		return nil
	}
	return err
}

// runOnce runs the forwarding processor until it has forwarded every value of
// want, then stops it and returns what it forwarded.
func runOnce(ctx context.Context, name string, brokers []string, tmc *goka.TopicManagerConfig, out *goka.Emitter, want []string) ([]string, error) {
	fw := newForwarder(out, *noCommit)
	proc, err := goka.NewProcessor(brokers,
		goka.DefineGroup(group, goka.Input(inStream, new(codec.String), fw.forward)),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
	)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- proc.Run(runCtx) }()

	waitCtx, cancelWait := context.WithTimeout(runCtx, *timeout)
	waitErr := fw.seen.waitFor(waitCtx, func(seen []string) bool {
		return !slices.ContainsFunc(want, func(v string) bool { return !slices.Contains(seen, v) })
	})
	cancelWait()

	cancel()
	if n := fw.releaseHeld(); n > 0 {
		fmt.Printf("  stopping with %d commits held back: releasing them with an error, else the processor would wait for them a minute before it stops\n", n)
	}
	runErr := <-done
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err() // interrupted
	case waitErr != nil:
		return nil, errors.Join(fmt.Errorf("%s: not every message was forwarded within %v: %w", name, *timeout, waitErr), runErr)
	case runErr != nil && !(*noCommit && errors.Is(runErr, errCommitWithheld)):
		return nil, fmt.Errorf("%s: %w", name, runErr)
	case runErr != nil:
		fmt.Printf("  %s stopped with the expected error: %v\n", name, runErr)
	}
	return fw.seen.snapshot(), nil
}

// report prints what a run forwarded: how many of the messages sent for it,
// how many it read again although an earlier run had forwarded them, and how
// many messages of earlier programs it found.
func report(name string, seen, sent, before []string) {
	var again, older int
	for _, v := range seen {
		switch {
		case slices.Contains(before, v):
			again++
		case !slices.Contains(sent, v):
			older++
		}
	}
	fmt.Printf("%s: forwarded %d new messages, read %d again", name, len(seen)-again-older, again)
	if older > 0 {
		fmt.Printf(" (and %d of earlier runs of this program)", older)
	}
	fmt.Println()
}

// ensureStreams creates the input and the output, one partition each, so
// the messages are read in the order they were sent.
func ensureStreams(brokers []string, cfg *sarama.Config, tmc *goka.TopicManagerConfig) error {
	tm, err := goka.NewTopicManager(brokers, cfg, tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	defer tm.Close()
	for _, s := range []goka.Stream{inStream, outStream} {
		if err := tm.EnsureStreamExists(string(s), 1); err != nil {
			return err
		}
	}
	return nil
}

// setup returns the brokers: a real broker's with -brokers, else an embedded
// broker's. The processor is stateless, so there is no table to keep.
func setup() (brokers []string, cleanup func(), err error) {
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
