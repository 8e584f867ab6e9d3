// Command 7-redis runs a processor whose group table lives in Redis instead
// of LevelDB: an emitter sends user events, the processor keeps per user how
// many there were and the last one, and a reporter reads the partition hashes
// straight from Redis to show where the state went.
//
// It needs no setup beyond Debian's redis-server binary: without -redis it
// starts a throwaway server on a free port and an embedded Kafka broker, and
// stops both at the end.
//
//	go run ./examples/7-redis                                   # throwaway Redis, embedded broker
//	go run ./examples/7-redis -redis 127.0.0.1:6379 -brokers localhost:9092
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
	"github.com/seed-b2c684ed/goka/kafkatest"
	redisstorage "github.com/seed-b2c684ed/goka/storage/redis"
)

// The settings goka's example read from a YAML file are flags here.
var (
	brokerList = flag.String("brokers", "", "comma-separated Kafka brokers; empty runs an embedded broker")
	groupName  = flag.String("group", "example-redis", "processor group; its table topic is <group>-table")
	streamName = flag.String("stream", "example-redis-events", "input stream of user events")
	redisAddr  = flag.String("redis", "", "Redis address host:port; empty starts a throwaway redis-server")
	namespace  = flag.String("namespace", "goka-example", "prefix of the Redis hashes: <namespace>:<table topic>:<partition>")
	partitions = flag.Int("partitions", 4, "partitions of the stream when this program creates it")
	duration   = flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	interval   = flag.Duration("interval", 100*time.Millisecond, "pause between two emitted events")
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

	brokers, embedded, closeBroker, err := connect()
	if err != nil {
		return err
	}
	defer closeBroker()

	client, ns, closeRedis, err := openRedis(ctx, embedded)
	if err != nil {
		return err
	}
	defer closeRedis()

	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	if err := createStream(brokers, cfg, tmc); err != nil {
		return err
	}

	group := goka.Group(*groupName)
	proc, err := goka.NewProcessor(brokers, graph(group, goka.Stream(*streamName)),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		// Every partition of the group table is one hash on this client.
		goka.WithStorageBuilder(redisstorage.RedisBuilder(client, ns)),
	)
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
	start("emitter", func(ctx context.Context) error { return emit(ctx, brokers) })
	start("reporter", func(ctx context.Context) error {
		return report(ctx, client, ns, string(goka.GroupTable(group)), proc.Get)
	})
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Run has returned: every partition stored its real offset again.
	line, err := describe(context.Background(), client, ns+":"+string(goka.GroupTable(group))+":")
	if err != nil {
		return err
	}
	fmt.Println(line + " (after the stop)")
	return nil
}

// createStream creates the input stream; the processor creates its table.
func createStream(brokers []string, cfg *sarama.Config, tmc *goka.TopicManagerConfig) error {
	tm, err := goka.NewTopicManager(brokers, cfg, tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	defer tm.Close()
	return tm.EnsureStreamExists(*streamName, *partitions)
}

// connect returns the brokers of -brokers, or starts an embedded one.
func connect() (brokers []string, embedded bool, closeBroker func(), err error) {
	if *brokerList != "" {
		return strings.Split(*brokerList, ","), false, func() {}, nil
	}
	cluster, err := kafkatest.NewCluster()
	if err != nil {
		return nil, false, nil, fmt.Errorf("starting the embedded broker: %w", err)
	}
	log.Printf("embedded Kafka broker at %v", cluster.Addrs())
	return cluster.Addrs(), true, cluster.Close, nil
}
