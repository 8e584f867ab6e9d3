// Command 11-dead-letters shows a message the processor cannot handle landing
// in the dead-letter topic instead of stopping the processor, and how it is
// fed back once the processor is fixed.
//
// The program is a demonstration that ends by itself. A processor sums the
// orders of every user in euros, but its first version knows no exchange
// rate for Swiss francs: the one order in francs fails, is retried twice and
// is written to the dead-letter topic (<group>-dlq), while the orders around
// it are summed. The fixed version, which knows the rate, then takes over
// the group, and the dead letters are replayed to the topic they came from,
// where it sums them.
//
//	go run ./examples/11-dead-letters
//	go run ./examples/11-dead-letters -brokers localhost:9092
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
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
	timeout    = flag.Duration("timeout", 30*time.Second, "give up when a step has not ended within this")
)

// order is one message of the input: an amount in cents of a currency.
type order struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// orderCodec encodes orders as JSON.
type orderCodec struct{}

func (orderCodec) Encode(value interface{}) ([]byte, error) { return json.Marshal(value) }
func (orderCodec) Decode(data []byte) (interface{}, error) {
	var o order
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("decoding order %q: %w", data, err)
	}
	return &o, nil
}

// The exchange rates to euros of the two versions of the processor.
var (
	ratesV1 = map[string]float64{"EUR": 1}
	ratesV2 = map[string]float64{"EUR": 1, "CHF": 1.07}
)

// replayHeader marks a replayed dead letter with where it was read.
const replayHeader = "x-replayed-from"

func main() {
	flag.Parse()
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	brokers, suffix, cleanup, err := setup()
	if err != nil {
		return err
	}
	defer cleanup()
	orders := goka.Stream("example-orders" + suffix)
	group := goka.Group("example-order-totals" + suffix)
	dlq := string(group) + "-dlq"

	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tm, err := goka.NewTopicManager(brokers, cfg, tmc)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	// One partition, so the orders are read in the order they were sent.
	err = tm.EnsureStreamExists(string(orders), 1)
	tm.Close()
	if err != nil {
		return err
	}

	em, err := goka.NewEmitter(brokers, orders, orderCodec{})
	if err != nil {
		return err
	}
	for _, o := range []struct {
		user string
		order
	}{
		{"alice", order{1250, "EUR"}},
		{"bob", order{800, "EUR"}},
		{"carol", order{2000, "CHF"}},
		{"alice", order{300, "EUR"}},
		{"carol", order{500, "EUR"}},
	} {
		if err := em.EmitSync(o.user, &o.order); err != nil {
			return fmt.Errorf("sending an order: %w", err)
		}
	}
	if err := em.Finish(); err != nil {
		return err
	}
	fmt.Println("sent 5 orders, one of them in CHF")

	// Version 1: try a failed order three times (two retries, 100 ms
	// apart, then 200 ms), then dead-letter it.
	v1 := newTotals("v1", orders, group, ratesV1, tmc)
	if err := v1.runUntil(ctx, brokers, func(s *goka.InputStats) bool { return s.Count == 5 && s.DeadLettered == 1 },
		goka.WithErrorPolicy(goka.RetryOnError(3, 100*time.Millisecond, goka.DeadLetterOnError()))); err != nil {
		return err
	}

	letters, err := readAll(brokers, dlq)
	if err != nil {
		return err
	}
	for _, l := range letters {
		h := goka.HeadersFromSarama(l.Headers)
		fmt.Printf("dead letter %s/%d@%d: key=%s value=%s error=%q from %s/%s@%s after %s attempt(s)\n",
			dlq, l.Partition, l.Offset, l.Key, l.Value, h[goka.DeadLetterHeaderError],
			h[goka.DeadLetterHeaderTopic], h[goka.DeadLetterHeaderPartition], h[goka.DeadLetterHeaderOffset], h[goka.DeadLetterHeaderAttempts])
	}

	// The fix: version 2 knows the rate. The dead letters are fed back to
	// where they came from, and version 2 takes the group over where
	// version 1 committed: it reads only them.
	n, err := replay(brokers, letters)
	if err != nil {
		return err
	}
	fmt.Printf("replayed %d dead letter(s) to %s\n", n, orders)
	v2 := newTotals("v2", orders, group, ratesV2, tmc)
	return v2.runUntil(ctx, brokers, func(*goka.InputStats) bool { return v2.replays.Load() == int64(n) },
		goka.WithErrorPolicy(goka.DeadLetterOnError()))
}

// replay sends every dead letter back to the topic and partition it came
// from, with its key, value and original headers; the dead letter's own
// headers are replaced by one that says where it was read. Sending to the
// original partition keeps a key where the processor's hasher put it,
// whatever partitioner the replaying producer has.
func replay(brokers []string, letters []*sarama.ConsumerMessage) (int, error) {
	config := goka.DefaultConfig()
	config.Producer.Partitioner = sarama.NewManualPartitioner
	config.Producer.Return.Successes = true
	producer, err := sarama.NewSyncProducer(brokers, config)
	if err != nil {
		return 0, err
	}
	defer producer.Close()
	for _, l := range letters {
		h := goka.HeadersFromSarama(l.Headers)
		var partition int64
		if _, err := fmt.Sscan(string(h[goka.DeadLetterHeaderPartition]), &partition); err != nil {
			return 0, fmt.Errorf("dead letter %s/%d@%d has no partition header: %w", l.Topic, l.Partition, l.Offset, err)
		}
		msg := &sarama.ProducerMessage{
			Topic:     string(h[goka.DeadLetterHeaderTopic]),
			Partition: int32(partition),
			Key:       sarama.ByteEncoder(l.Key),
			Value:     sarama.ByteEncoder(l.Value),
		}
		for k, v := range h {
			if !strings.HasPrefix(k, "goka-dlq-") {
				msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(k), Value: v})
			}
		}
		msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(replayHeader), Value: []byte(fmt.Sprintf("%s/%d@%d", l.Topic, l.Partition, l.Offset))})
		if _, _, err := producer.SendMessage(msg); err != nil {
			return 0, fmt.Errorf("replaying dead letter %s/%d@%d: %w", l.Topic, l.Partition, l.Offset, err)
		}
	}
	return len(letters), nil
}

// totals is one version of the processor: it adds every order, in euro
// cents, to its user's total.
type totals struct {
	name    string
	orders  goka.Stream
	group   goka.Group
	rates   map[string]float64
	tmc     *goka.TopicManagerConfig
	replays atomic.Int64
}

func newTotals(name string, orders goka.Stream, group goka.Group, rates map[string]float64, tmc *goka.TopicManagerConfig) *totals {
	return &totals{name: name, orders: orders, group: group, rates: rates, tmc: tmc}
}

func (t *totals) add(ctx goka.Context, msg interface{}) {
	o := msg.(*order)
	rate, ok := t.rates[o.Currency]
	if !ok {
		ctx.Fail(fmt.Errorf("no exchange rate for %s", o.Currency))
	}
	var total int64
	if v := ctx.Value(); v != nil {
		total = v.(int64)
	}
	euros := int64(math.Round(float64(o.Amount) * rate))
	total += euros
	ctx.SetValue(total)
	note := ""
	if from, ok := ctx.Headers()[replayHeader]; ok {
		note = fmt.Sprintf(" (replayed dead letter %s)", from)
		t.replays.Add(1)
	}
	fmt.Printf("[%s] %s +%s (%s %s), total %s%s\n", t.name, ctx.Key(), cents(euros), cents(o.Amount), o.Currency, cents(total), note)
}

// runUntil runs the processor until done holds for the stats of its input,
// then prints the totals and stops it.
func (t *totals) runUntil(ctx context.Context, brokers []string, done func(*goka.InputStats) bool, opts ...goka.ProcessorOption) error {
	graph := goka.DefineGroup(t.group,
		goka.Input(t.orders, orderCodec{}, t.add),
		goka.Persist(new(codec.Int64)),
	)
	opts = append(opts,
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(t.tmc)),
		goka.WithStorageBuilder(storage.MemoryBuilder()),
	)
	proc, err := goka.NewProcessor(brokers, graph, opts...)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- proc.Run(runCtx) }()

	deadline := time.After(*timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !done(inputStats(proc, string(t.orders))) {
		select {
		case err := <-ran:
			return fmt.Errorf("%s stopped: %w", t.name, err)
		case <-deadline:
			cancel()
			return errors.Join(fmt.Errorf("%s did not finish within %s", t.name, *timeout), <-ran)
		case <-tick.C:
		}
	}
	var line []string
	for _, user := range []string{"alice", "bob", "carol"} {
		v, err := proc.Get(user)
		if err != nil {
			return err
		}
		var total int64
		if v != nil {
			total = v.(int64)
		}
		line = append(line, fmt.Sprintf("%s=%s", user, cents(total)))
	}
	s := inputStats(proc, string(t.orders))
	fmt.Printf("%s totals: %s (retried %d, dead-lettered %d)\n", t.name, strings.Join(line, " "), s.Retried, s.DeadLettered)
	cancel()
	return <-ran
}

// inputStats adds up the stats of the input over the processor's partitions.
func inputStats(proc *goka.Processor, topic string) *goka.InputStats {
	sum := new(goka.InputStats)
	for _, pp := range proc.Stats().Group {
		if s, ok := pp.Input[topic]; ok {
			sum.Count += s.Count
			sum.Retried += s.Retried
			sum.DeadLettered += s.DeadLettered
		}
	}
	return sum
}

// readAll reads every record of a topic, all partitions, oldest first.
func readAll(brokers []string, topic string) ([]*sarama.ConsumerMessage, error) {
	config := goka.DefaultConfig()
	config.Consumer.MaxWaitTime = 10 * time.Millisecond
	client, err := sarama.NewClient(brokers, config)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	partitions, err := client.Partitions(topic)
	if err != nil {
		return nil, err
	}
	var records []*sarama.ConsumerMessage
	for _, p := range partitions {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, err
		}
		if end == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				records = append(records, m)
				done = m.Offset >= end-1
			case <-time.After(*timeout):
				pc.Close()
				return nil, fmt.Errorf("reading %s/%d: nothing within %s", topic, p, *timeout)
			}
		}
		if err := pc.Close(); err != nil {
			return nil, err
		}
	}
	return records, nil
}

// cents formats an amount of cents.
func cents(n int64) string { return fmt.Sprintf("%d.%02d", n/100, n%100) }

// setup returns the brokers, and a suffix for the topics and the group: a
// real broker keeps the topics of earlier runs, so each run has its own.
func setup() (brokers []string, suffix string, cleanup func(), err error) {
	if *brokerList != "" {
		return strings.Split(*brokerList, ","), "-" + time.Now().Format("150405"), func() {}, nil
	}
	cluster, err := kafkatest.NewCluster()
	if err != nil {
		return nil, "", nil, fmt.Errorf("starting the embedded broker: %w", err)
	}
	log.Printf("embedded Kafka broker at %v", cluster.Addrs())
	return cluster.Addrs(), "", cluster.Close, nil
}
