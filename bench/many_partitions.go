package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// manyPartitionsWorkload restores a processor with a group table and two
// joins of ManyParts partitions each, ManyN distinct keys of ValueSize
// bytes in every table, with WithHotStandby: the time from Run to
// WaitForReady and the peak RSS on the way, against a raw sarama consumer
// reading every partition of the three tables to its end.
func manyPartitionsWorkload(ctx context.Context, e *env) ([]result, error) {
	s := e.opts.sizes
	parts, n := s.ManyParts, s.ManyN
	group := e.group("many")
	table := string(goka.GroupTable(goka.Group(group)))
	joinA, joinB := e.name("many-join-a"), e.name("many-join-b")
	input := e.name("many-input")
	tables := []string{table, joinA, joinB}
	for _, t := range tables {
		if err := e.createTopic(t, parts, true); err != nil {
			return nil, err
		}
	}
	if err := e.createTopic(input, parts, false); err != nil {
		return nil, err
	}
	gen := func(i int) record { return record{keyOf(i), pseudoRandom(i, s.ValueSize)} }
	for _, t := range tables {
		if err := e.produce(t, n, gen); err != nil {
			return nil, err
		}
	}

	total := len(tables) * n
	consumer := &measurement{name: "raw consumer", run: func() (timing, error) { return e.rawRestoreAll(ctx, tables, total) }}
	def := e.defaults()
	consumerDef := &measurement{name: "raw consumer, sarama defaults", run: func() (timing, error) { return def.rawRestoreAll(ctx, tables, total) }}
	proc := &measurement{name: "processor", run: func() (timing, error) {
		return e.restoreManyPartitions(ctx, group, input, joinA, joinB, total)
	}}
	if err := measureAll(e.opts.runs, consumer, consumerDef, proc); err != nil {
		return nil, err
	}
	r := newResult("many-partitions", "msgs/s", proc.best)
	r.addBaselinePair(fmt.Sprintf("sarama consumer, all %d×3 partitions", parts), consumerDef.best, consumer.best)
	fastest := consumer.best
	if consumerDef.best.rate() > fastest.rate() {
		fastest = consumerDef.best
	}
	r.Note = fmt.Sprintf("group table and two joins of %d partitions, %d keys of %d bytes each, WithHotStandby; Run to WaitForReady in %s, the raw consumer in %s; peak RSS %s, the raw consumer's %s",
		parts, n, s.ValueSize, proc.best.elapsed.Round(time.Millisecond), fastest.elapsed.Round(time.Millisecond), fmtPeak(proc.best.mem), fmtPeak(fastest.mem))
	return []result{r}, nil
}

// restoreManyPartitions times a fresh processor with empty LevelDB stores
// from Run until WaitForReady returns.
func (e *env) restoreManyPartitions(ctx context.Context, group, input, joinA, joinB string, total int) (timing, error) {
	s := e.opts.sizes
	dir, cleanup, err := tempDir("many")
	if err != nil {
		return timing{}, err
	}
	defer cleanup()
	gg := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.Bytes), func(goka.Context, any) {}),
		goka.Join(goka.Table(joinA), new(codec.Bytes)),
		goka.Join(goka.Table(joinB), new(codec.Bytes)),
		goka.Persist(new(codec.Bytes)))
	w := openMemWindow()
	proc, err := goka.NewProcessor(e.brokers, gg, append(e.processorOptions(dir), goka.WithHotStandby())...)
	if err != nil {
		return timing{}, err
	}
	run, elapsed, mem, err := e.runUntilReady(ctx, proc, "many-partitions", w)
	if err == nil {
		spec := tableSpec{keys: s.ManyN, check: func(v any) error {
			if b, ok := v.([]byte); !ok || len(b) != s.ValueSize {
				return fmt.Errorf("last key holds %T of %d bytes, want %d", v, len(b), s.ValueSize)
			}
			return nil
		}}
		err = checkLast(proc.Get, spec)
	}
	return timing{count: int64(total), elapsed: elapsed, mem: mem}, errors.Join(err, run.stop())
}

// rawRestoreAll is rawRestore over several topics at once: one sarama
// consumer reading every partition of every topic from the oldest offset
// to its high-water mark, in parallel, from building the client to the
// last message.
func (e *env) rawRestoreAll(ctx context.Context, topics []string, n int) (timing, error) {
	w := openMemWindow()
	start := time.Now()
	client, err := sarama.NewClient(e.brokers, e.config())
	if err != nil {
		return timing{}, err
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return timing{}, err
	}
	defer consumer.Close()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
		errs  []error
	)
	ends := make([]map[int32]int64, len(topics))
	for i, topic := range topics {
		if ends[i], err = hwms(client, topic); err != nil {
			return timing{}, err
		}
	}
	for i, topic := range topics {
		for p, end := range ends[i] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := drainPartition(ctx, consumer, topic, p, end)
				mu.Lock()
				defer mu.Unlock()
				total += c
				errs = append(errs, err)
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	mem := w.close()
	if err := errors.Join(errs...); err != nil {
		return timing{}, err
	}
	if total != int64(n) {
		return timing{}, fmt.Errorf("read %d messages, want %d", total, n)
	}
	return timing{count: total, elapsed: elapsed, mem: mem}, nil
}
