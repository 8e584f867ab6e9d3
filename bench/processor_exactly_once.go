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
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
)

// exactlyOnceIntervals are the commit intervals the exactly-once processor
// is measured at.
var exactlyOnceIntervals = []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second}

// processorExactlyOnceWorkload runs the counting processor over ProcN
// pre-produced messages with exactly-once at every commit interval, beside
// the at-least-once processor and a raw sarama transactional
// consume-transform-produce loop committing every 100 ms, all in the same
// run. The processors are timed from Run to the last callback, the raw loop
// to the commit of its last message.
func processorExactlyOnceWorkload(ctx context.Context, e *env) ([]result, error) {
	input, err := e.countingInput("eos-input")
	if err != nil {
		return nil, err
	}
	notes := map[string]bool{}
	counting := func(extra ...goka.ProcessorOption) func() (timing, error) {
		return func() (timing, error) {
			t, note, err := e.countingProcessor(ctx, input, extra...)
			notes[note] = true
			return t, err
		}
	}
	alo := &measurement{name: "processor at least once", run: counting()}
	raw := &measurement{name: "raw transactional loop 100ms", run: func() (timing, error) { return e.rawTxnPipeline(ctx, input, 100*time.Millisecond) }}
	eos := make([]*measurement, len(exactlyOnceIntervals))
	all := []*measurement{alo, raw}
	for i, interval := range exactlyOnceIntervals {
		eos[i] = &measurement{name: "processor exactly once " + interval.String(), run: counting(
			goka.WithExactlyOnce(), goka.WithCommitInterval(interval),
			goka.WithTransactionalProducerBuilder(goka.TransactionalProducerBuilderWithConfig(e.cfg)))}
		all = append(all, eos[i])
	}
	if err := measureAll(e.opts.runs, all...); err != nil {
		return nil, err
	}
	var results []result
	for i, interval := range exactlyOnceIntervals {
		r := newResult("processor-exactly-once-"+interval.String(), "msgs/s", eos[i].best)
		r.addBaseline("processor at least once", alo.best)
		r.addBaseline("sarama transactional loop, 100ms commits", raw.best)
		r.Note = strings.Join(slices.Sorted(maps.Keys(notes)), "; ")
		results = append(results, r)
	}
	return results, nil
}

// rawTxnPipeline times a sarama consumer group (read_committed) whose every
// message produces one record to another topic through one transactional
// AsyncProducer; every interval the consumed offsets are added to the
// transaction with the session's group metadata and it is committed, as the
// library does. From building the clients to the commit of the last message.
func (e *env) rawTxnPipeline(ctx context.Context, input string, interval time.Duration) (timing, error) {
	s := e.opts.sizes
	n := int64(s.ProcN)
	output := e.name("txn-out")
	if err := e.createTopic(output, s.Partitions, false); err != nil {
		return timing{}, err
	}
	group := e.group("raw-txn")
	pc := e.producerConfig()
	pc.Producer.Transaction.ID = group
	pc.Producer.Idempotent = true
	pc.Producer.RequiredAcks = sarama.WaitForAll
	pc.Net.MaxOpenRequests = 1

	w := openMemWindow()
	start := time.Now()
	producer, err := sarama.NewAsyncProducer(e.brokers, pc)
	if err != nil {
		return timing{}, err
	}
	var drained sync.WaitGroup
	drained.Add(2)
	go func() {
		defer drained.Done()
		for range producer.Successes() {
		}
	}()
	var sendErr error
	go func() {
		defer drained.Done()
		for perr := range producer.Errors() {
			if sendErr == nil {
				sendErr = perr.Err
			}
		}
	}()
	closeProducer := func() {
		producer.AsyncClose()
		drained.Wait()
	}
	if err := producer.BeginTxn(); err != nil {
		closeProducer()
		return timing{}, err
	}

	var (
		mu        sync.Mutex
		offsets   = map[int32]int64{}
		meta      *sarama.ConsumerGroupMetadata
		pending   int64
		committed int64
	)
	last := make(chan struct{})
	handler := claimHandler(func(sess sarama.ConsumerGroupSession, msg *sarama.ConsumerMessage) {
		out := &sarama.ProducerMessage{Topic: output, Key: sarama.ByteEncoder(msg.Key), Value: sarama.StringEncoder(strconv.FormatInt(msg.Offset, 10))}
		mu.Lock()
		defer mu.Unlock()
		producer.Input() <- out
		offsets[msg.Partition] = msg.Offset + 1
		if meta == nil || meta.GenerationID != sess.GenerationID() {
			meta = sarama.NewConsumerGroupMetadataFromSession(sess, group, nil)
		}
		pending++
	})
	commit := func() error {
		mu.Lock()
		defer mu.Unlock()
		if pending == 0 {
			return nil
		}
		list := make([]*sarama.PartitionOffsetMetadata, 0, len(offsets))
		for p, o := range offsets {
			list = append(list, &sarama.PartitionOffsetMetadata{Partition: p, Offset: o})
		}
		if err := producer.AddOffsetsToTxnWithGroupMetadata(map[string][]*sarama.PartitionOffsetMetadata{input: list}, meta); err != nil {
			return err
		}
		if err := producer.CommitTxn(); err != nil {
			return err
		}
		committed += pending
		pending = 0
		if committed == n {
			close(last)
		}
		return producer.BeginTxn()
	}
	cc := e.config()
	cc.Consumer.IsolationLevel = sarama.ReadCommitted
	cg, err := sarama.NewConsumerGroup(e.brokers, group, cc)
	if err != nil {
		closeProducer()
		return timing{}, err
	}
	run := consumeInBackground(ctx, cg, input, handler)
	commitErr := make(chan error, 1)
	stopCommits := make(chan struct{})
	go func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-stopCommits:
				commitErr <- nil
				return
			case <-ticker.C:
				if err := commit(); err != nil {
					commitErr <- err
					return
				}
			}
		}
	}()
	err = run.await(ctx, last, "the last commit")
	elapsed := time.Since(start)
	mem := w.close()
	close(stopCommits)
	err = errors.Join(err, <-commitErr, run.stop())
	closeProducer()
	if sendErr != nil {
		err = errors.Join(err, fmt.Errorf("producing: %w", sendErr))
	}
	return timing{count: n, elapsed: elapsed, mem: mem}, err
}

// processorLatencyExactlyOnceWorkload is processor-latency with
// exactly-once at the default commit interval (100 ms), its output read
// with read_committed, beside the at-least-once processor in the same run:
// an output becomes visible only when its transaction commits, so the
// latency grows by up to one commit interval plus the commit itself.
func processorLatencyExactlyOnceWorkload(ctx context.Context, e *env) ([]result, error) {
	cfg := e.config()
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	rc := e.withConfig(cfg)
	var eos, alo pooled
	err := interleave(e.opts.runs,
		func() error {
			return rc.procLatencyRun(ctx, "lat-eos", rc.latencyProcessorWith(goka.WithExactlyOnce(),
				goka.WithTransactionalProducerBuilder(goka.TransactionalProducerBuilderWithConfig(e.cfg))), &eos)
		},
		func() error { return e.procLatencyRun(ctx, "lat-alo", e.latencyProcessor, &alo) },
	)
	if err != nil {
		return nil, err
	}
	r := newResult("processor-latency-exactly-once", "msgs/s", eos.timing())
	r.addBaseline("processor at least once, same rate", alo.timing())
	r.Note = fmt.Sprintf("%d msg/s for %s, %d partitions, input ack to output receipt (read_committed for exactly-once), commit interval %s, %d runs pooled",
		procLatRate, time.Duration(e.opts.sizes.LatDur), e.opts.sizes.Partitions, goka.DefaultCommitInterval, eos.runs)
	return []result{r}, nil
}
