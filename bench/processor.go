package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// countingInput creates an input topic and fills it with ProcN messages
// over the key space, for the counting processor and its baselines.
func (e *env) countingInput(what string) (string, error) {
	s := e.opts.sizes
	input := e.name(what)
	if err := e.createTopic(input, s.Partitions, false); err != nil {
		return "", err
	}
	value := filler(s.ValueSize)
	return input, e.produce(input, s.ProcN, func(i int) record { return record{keyOf(i % s.Keys), value} })
}

// processorWorkload runs a counting processor over ProcN pre-produced
// messages and compares it with a raw consume-then-produce pipeline, the
// limit of what it can reach, and with a bare consumer group.
func processorWorkload(ctx context.Context, e *env) ([]result, error) {
	input, err := e.countingInput("proc-input")
	if err != nil {
		return nil, err
	}

	consumeOnly := &measurement{name: "raw consumer group", run: func() (timing, error) { return e.rawConsumerGroup(ctx, input) }}
	pipeline := &measurement{name: "raw pipeline", run: func() (timing, error) { return e.rawPipeline(ctx, input) }}
	def := e.defaults()
	consumeOnlyDef := &measurement{name: "raw consumer group, sarama defaults", run: func() (timing, error) { return def.rawConsumerGroup(ctx, input) }}
	pipelineDef := &measurement{name: "raw pipeline, sarama defaults", run: func() (timing, error) { return def.rawPipeline(ctx, input) }}
	notes := map[string]bool{}
	lib := &measurement{name: "processor", run: func() (timing, error) {
		t, note, err := e.countingProcessor(ctx, input)
		notes[note] = true
		return t, err
	}}
	if err := measureAll(e.opts.runs, consumeOnly, consumeOnlyDef, pipeline, pipelineDef, lib); err != nil {
		return nil, err
	}
	r := newResult("processor", "msgs/s", lib.best)
	r.addBaselinePair("sarama consume+produce", pipelineDef.best, pipeline.best)
	r.addBaselinePair("sarama consumer group only", consumeOnlyDef.best, consumeOnly.best)
	r.Note = strings.Join(slices.Sorted(maps.Keys(notes)), "; ")
	return []result{r}, nil
}

// countingProcessor times a processor counting messages per key in an int64
// group table, from Run to the last callback; extra options are added to the
// workload's.
func (e *env) countingProcessor(ctx context.Context, input string, extra ...goka.ProcessorOption) (timing, string, error) {
	s := e.opts.sizes
	n := int64(s.ProcN)
	group := e.group("proc")
	e.ownTopic(string(goka.GroupTable(goka.Group(group))))
	dir, cleanup, err := tempDir("proc")
	if err != nil {
		return timing{}, "", err
	}
	defer cleanup()

	var count atomic.Int64
	last := make(chan struct{})
	count1 := func(ctx goka.Context, _ any) {
		var c int64
		if v := ctx.Value(); v != nil {
			c = v.(int64)
		}
		ctx.SetValue(c + 1)
		if count.Add(1) == n {
			close(last)
		}
	}
	gg := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.String), count1),
		goka.Persist(new(codec.Int64)))

	w := openMemWindow()
	proc, err := goka.NewProcessor(e.brokers, gg, append(e.processorOptions(dir), extra...)...)
	if err != nil {
		return timing{}, "", err
	}
	stopProfiles := e.startProfiles("processor")
	start := time.Now()
	run := runInBackground(ctx, proc.Run)
	err = run.await(ctx, last, "the last callback")
	elapsed := time.Since(start)
	stopProfiles()
	mem := w.close()
	if err != nil {
		return timing{}, "", errors.Join(err, run.stop())
	}

	note := "Run to the last callback"
	if sum, err := awaitCounts(proc, s.Keys, n); err != nil {
		note += "; CHECK FAILED: " + err.Error()
	} else if sum != n {
		note += fmt.Sprintf("; CHECK FAILED: the table counts %d messages, not %d", sum, n)
	}
	if err := run.stop(); err != nil {
		return timing{}, "", fmt.Errorf("stopping: %w", err)
	}
	return timing{count: n, elapsed: elapsed, mem: mem}, note, nil
}

// awaitCounts waits, for a few seconds at most, until the group table counts
// n messages over its first keys keys, and returns the last sum it read. The
// last callback signals before it returns, and a callback's writes reach the
// store only when it has returned, so the first read can be one short.
func awaitCounts(proc *goka.Processor, keys int, n int64) (int64, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		sum, err := sumCounts(proc, keys)
		if err != nil || sum == n || time.Now().After(deadline) {
			return sum, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sumCounts adds up the group table's counts of the first keys keys.
func sumCounts(proc *goka.Processor, keys int) (int64, error) {
	var sum int64
	for k := range keys {
		v, err := proc.Get(keyOf(k))
		if err != nil {
			return 0, err
		}
		if v != nil {
			sum += v.(int64)
		}
	}
	return sum, nil
}

// rawConsumerGroup times a sarama consumer group that only consumes and
// marks every message of input, from building the group to the last
// message.
func (e *env) rawConsumerGroup(ctx context.Context, input string) (timing, error) {
	n := int64(e.opts.sizes.ProcN)
	group := e.group("raw-cg")
	var count atomic.Int64
	last := make(chan struct{})
	handler := claimHandler(func(sess sarama.ConsumerGroupSession, msg *sarama.ConsumerMessage) {
		sess.MarkMessage(msg, "")
		if count.Add(1) == n {
			close(last)
		}
	})
	w := openMemWindow()
	start := time.Now()
	cg, err := sarama.NewConsumerGroup(e.brokers, group, e.config())
	if err != nil {
		return timing{}, err
	}
	run := consumeInBackground(ctx, cg, input, handler)
	err = run.await(ctx, last, "the last message")
	elapsed := time.Since(start)
	mem := w.close()
	return timing{count: n, elapsed: elapsed, mem: mem}, errors.Join(err, run.stop())
}

// rawPipeline times what a processor does at the least: a sarama consumer
// group whose every message produces one record to another topic through an
// AsyncProducer, the input offset marked once that record is acknowledged,
// from building the clients to the last acknowledgement.
func (e *env) rawPipeline(ctx context.Context, input string) (timing, error) {
	s := e.opts.sizes
	n := int64(s.ProcN)
	output := e.name("pipe-out")
	if err := e.createTopic(output, s.Partitions, false); err != nil {
		return timing{}, err
	}
	group := e.group("raw-pipe")

	type origin struct {
		sess sarama.ConsumerGroupSession
		msg  *sarama.ConsumerMessage
	}
	w := openMemWindow()
	start := time.Now()
	producer, err := sarama.NewAsyncProducer(e.brokers, e.producerConfig())
	if err != nil {
		return timing{}, err
	}
	var acked atomic.Int64
	last := make(chan struct{})
	var sendErr atomic.Pointer[error]
	var drained sync.WaitGroup
	drained.Add(2)
	go func() {
		defer drained.Done()
		for m := range producer.Successes() {
			o := m.Metadata.(origin)
			o.sess.MarkMessage(o.msg, "")
			if acked.Add(1) == n {
				close(last)
			}
		}
	}()
	go func() {
		defer drained.Done()
		for perr := range producer.Errors() {
			err := perr.Err
			sendErr.CompareAndSwap(nil, &err)
		}
	}()
	handler := claimHandler(func(sess sarama.ConsumerGroupSession, msg *sarama.ConsumerMessage) {
		out := &sarama.ProducerMessage{
			Topic: output, Key: sarama.ByteEncoder(msg.Key),
			Value:    sarama.StringEncoder(strconv.FormatInt(msg.Offset, 10)),
			Metadata: origin{sess, msg},
		}
		select {
		case producer.Input() <- out:
		case <-sess.Context().Done():
		}
	})
	cg, err := sarama.NewConsumerGroup(e.brokers, group, e.config())
	if err != nil {
		producer.AsyncClose()
		drained.Wait()
		return timing{}, err
	}
	run := consumeInBackground(ctx, cg, input, handler)
	err = run.await(ctx, last, "the last acknowledgement")
	elapsed := time.Since(start)
	mem := w.close()
	err = errors.Join(err, run.stop())
	producer.AsyncClose()
	drained.Wait()
	if p := sendErr.Load(); p != nil {
		err = errors.Join(err, fmt.Errorf("producing: %w", *p))
	}
	return timing{count: n, elapsed: elapsed, mem: mem}, err
}

// claimHandler is a sarama.ConsumerGroupHandler calling a function for every
// message of every claim.
type claimHandler func(sarama.ConsumerGroupSession, *sarama.ConsumerMessage)

func (claimHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (claimHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h claimHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			h(sess, msg)
		case <-sess.Context().Done():
			return nil
		}
	}
}

// consumeInBackground runs sessions of cg on topic until stopped, then
// closes cg; its errors are drained so they cannot block it.
func consumeInBackground(ctx context.Context, cg sarama.ConsumerGroup, topic string, h sarama.ConsumerGroupHandler) *background {
	go func() {
		for range cg.Errors() {
		}
	}()
	return runInBackground(ctx, func(ctx context.Context) error {
		var err error
		for ctx.Err() == nil {
			if err = cg.Consume(ctx, []string{topic}, h); err != nil {
				break
			}
		}
		if ctx.Err() != nil {
			err = nil
		}
		return errors.Join(err, cg.Close())
	})
}
