// Command 1-simplest is the smallest complete program: an emitter writes a
// message for one of a few users every 100 ms, and a processor counts the
// messages of every user in its group table.
//
// It runs on an embedded Kafka broker unless -brokers names a real one:
//
//	go run ./examples/1-simplest
//	go run ./examples/1-simplest -brokers localhost:9092
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
)

const (
	topic goka.Stream = "example-clicks"
	group goka.Group  = "example-counter"
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

	brokers, storagePath, cleanup, err := setup()
	if err != nil {
		return err
	}
	defer cleanup()

	// Start from the oldest message, so no click emitted before the processor
	// joined its group is missed.
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)

	// One broker: replication 1 for the topics the library creates.
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tm, err := goka.NewTopicManager(brokers, cfg, tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	err = tm.EnsureStreamExists(string(topic), 4)
	tm.Close()
	if err != nil {
		return err
	}

	emitter, err := goka.NewEmitter(brokers, topic, new(codec.String))
	if err != nil {
		return err
	}
	emitDone := make(chan error, 1)
	go func() { emitDone <- emit(ctx, emitter) }()

	graph := goka.DefineGroup(group,
		goka.Input(topic, new(codec.String), count),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(brokers, graph,
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithStorageBuilder(storage.DefaultBuilder(storagePath)),
	)
	if err != nil {
		return err
	}
	runErr := proc.Run(ctx)
	return errors.Join(runErr, <-emitDone)
}

// count is the processor's callback: it adds one to the user's counter.
func count(ctx goka.Context, msg interface{}) {
	var n int64
	if v := ctx.Value(); v != nil {
		n = v.(int64)
	}
	n++
	ctx.SetValue(n)
	fmt.Printf("[proc] key: %s clicks: %d, msg: %v\n", ctx.Key(), n, msg)
}

// emit sends a click for one of three users every 100 ms until ctx ends.
func emit(ctx context.Context, emitter *goka.Emitter) error {
	defer emitter.Finish()
	users := []string{"alice", "bob", "carol"}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := emitter.EmitSync(users[i%len(users)], fmt.Sprintf("click %d", i)); err != nil {
			return fmt.Errorf("emitting: %w", err)
		}
	}
}

// setup returns the brokers to use and where to keep the group table. With
// no -brokers it starts an embedded broker and keeps the table in a temporary
// directory: a new broker starts empty, so an old local table would not match
// it.
func setup() (brokers []string, storagePath string, cleanup func(), err error) {
	if *brokerList != "" {
		return strings.Split(*brokerList, ","), goka.DefaultProcessorStoragePath(group), func() {}, nil
	}
	cluster, err := kafkatest.NewCluster()
	if err != nil {
		return nil, "", nil, fmt.Errorf("starting the embedded broker: %w", err)
	}
	dir, err := os.MkdirTemp("", "goka-1-simplest-")
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
