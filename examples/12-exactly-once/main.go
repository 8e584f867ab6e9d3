// Command 12-exactly-once shows what goka.WithExactlyOnce changes when a
// processor crashes. It sends -messages clicks over ten users, then, once
// for each mode, at least once and exactly once: starts a counting processor
// as a separate process (this program with -child), kills it with SIGKILL
// once it has committed a third of the clicks, starts it again in this
// process on the same disk, and prints how many clicks the table counts.
//
// At least once, the clicks processed after the last commit before the kill
// are counted again by the restart. Exactly once, the table writes and the
// input offsets are committed in one Kafka transaction: the restart finds
// the killed process's open transaction aborted and its store dirty,
// rebuilds the store from the committed table, and counts every click once.
//
//	go run ./examples/12-exactly-once
//	go run ./examples/12-exactly-once -brokers localhost:9092
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
)

var (
	brokerList = flag.String("brokers", "", "comma-separated Kafka brokers; empty runs an embedded broker")
	messages   = flag.Int("messages", 3000, "clicks to send")

	// The child's flags, set by the parent.
	child = flag.Bool("child", false, "run the counter until killed (internal)")
	mode  = flag.String("mode", "", "at-least-once or exactly-once (internal)")
	dir   = flag.String("dir", "", "the counter's storage directory (internal)")
)

const (
	clicks     goka.Stream = "example-eos-clicks"
	partitions             = 2
	users                  = 10
)

func main() {
	flag.Parse()
	run := parent
	if *child {
		run = runChild
	}
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func parent() error {
	brokers := strings.Split(*brokerList, ",")
	if *brokerList == "" {
		cluster, err := kafkatest.NewCluster()
		if err != nil {
			return fmt.Errorf("starting the embedded broker: %w", err)
		}
		defer cluster.Close()
		brokers = cluster.Addrs()
	}
	cfg, tmc := config()
	tm, err := goka.TopicManagerBuilderWithConfig(cfg, tmc)(brokers)
	if err != nil {
		return err
	}
	defer tm.Close()
	if err := tm.EnsureStreamExists(string(clicks), partitions); err != nil {
		return err
	}
	if err := send(brokers, cfg); err != nil {
		return err
	}
	for _, m := range []string{"at-least-once", "exactly-once"} {
		counted, err := crashAndCount(brokers, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		fmt.Printf("%-14s %d clicks sent, %d counted after a SIGKILL and a restart (%d twice)\n", m+":", *messages, counted, counted-int64(*messages))
	}
	return nil
}

// config is the clients' configuration: the library's, reading from the
// oldest offset, committing often.
func config() (*sarama.Config, *goka.TopicManagerConfig) {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	return cfg, tmc
}

func send(brokers []string, cfg *sarama.Config) error {
	em, err := goka.NewEmitter(brokers, clicks, new(codec.String), goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(cfg)))
	if err != nil {
		return err
	}
	for i := 0; i < *messages; i++ {
		if _, err := em.Emit(fmt.Sprintf("user-%d", i%users), "click"); err != nil {
			return errors.Join(err, em.Finish())
		}
	}
	return em.Finish()
}

func group(m string) goka.Group { return goka.Group("example-eos-counter-" + m) }

// processor is the counter of mode m, its tables in d. Its group instance
// id is stable, so that, exactly once, the restart's producer aborts at once
// the transaction the killed one left open.
func processor(brokers []string, m, d string, logger goka.Logger) (*goka.Processor, error) {
	cfg, tmc := config()
	gg := goka.DefineGroup(group(m), goka.Input(clicks, new(codec.String), func(ctx goka.Context, _ any) {
		time.Sleep(time.Millisecond) // slow enough for the kill to land mid-stream
		var n int64
		if v := ctx.Value(); v != nil {
			n = v.(int64)
		}
		ctx.SetValue(n + 1)
	}), goka.Persist(new(codec.Int64)))
	opts := []goka.ProcessorOption{
		goka.WithStorageBuilder(storage.DefaultBuilder(d)),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg, tmc)),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(cfg)),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(cfg)),
		goka.WithGroupInstanceID("counter-1"),
		goka.WithLogger(logger),
	}
	if m == "exactly-once" {
		opts = append(opts, goka.WithExactlyOnce(), goka.WithTransactionalProducerBuilder(goka.TransactionalProducerBuilderWithConfig(cfg)))
	}
	return goka.NewProcessor(brokers, gg, opts...)
}

func runChild() error {
	proc, err := processor(strings.Split(*brokerList, ","), *mode, *dir, log.New(os.Stderr, "child ", log.LstdFlags))
	if err != nil {
		return err
	}
	return proc.Run(context.Background()) // until killed
}

// crashAndCount runs the counter of mode m in a child process, kills it
// with a third of the clicks committed, restarts it here and returns the
// clicks its table counts once it consumed them all.
func crashAndCount(brokers []string, m string) (int64, error) {
	d, err := os.MkdirTemp("", "goka-12-exactly-once-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(d)
	cfg, _ := config()
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	committed := func() int64 {
		resp, err := admin.ListConsumerGroupOffsets(string(group(m)), map[string][]int32{string(clicks): {0, 1}})
		if err != nil {
			return 0
		}
		var sum int64
		for p := int32(0); p < partitions; p++ {
			if b := resp.GetBlock(string(clicks), p); b != nil && b.Offset > 0 {
				sum += b.Offset
			}
		}
		return sum
	}

	cmd := exec.Command(os.Args[0], "-child", "-mode", m, "-dir", filepath.Join(d, "store"), "-brokers", strings.Join(brokers, ","))
	cmd.Stderr = nil // the child's log is not the point
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	if err := waitFor(func() bool { return committed() >= int64(*messages)/3 }); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, fmt.Errorf("waiting for the child's first commits: %w", err)
	}
	_ = cmd.Process.Kill() // SIGKILL: no stop, no commit
	_ = cmd.Wait()

	proc, err := processor(brokers, m, filepath.Join(d, "store"), log.New(os.Stderr, "restart ", log.LstdFlags))
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	err = waitFor(func() bool { return committed() == int64(*messages) })
	var sum int64
	for u := 0; u < users && err == nil; u++ {
		var v any
		if v, err = proc.Get(fmt.Sprintf("user-%d", u)); v != nil {
			sum += v.(int64)
		}
	}
	cancel()
	return sum, errors.Join(err, <-done)
}

// waitFor polls cond for up to a minute.
func waitFor(cond func() bool) error {
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
