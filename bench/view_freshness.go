package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// freshRates are the write rates view-freshness measures at, in messages
// per second.
var freshRates = []int{100, 10_000}

// freshPoll is how often the watcher reads the view for the values it
// waits for: the view's figures are late by up to this much, the raw
// consumer's, which is handed each message, are not.
const freshPoll = 250 * time.Microsecond

// viewFreshnessWorkload measures how long a value written to a table takes
// to show in a view: from the acknowledgement EmitSync waits for to the
// first View.Get that returns it, at each of freshRates. In every run the
// view starts while the writes are going on, and two windows are measured
// after it reports recovered: its first FreshWin, and a steady FreshDur
// that begins FreshWin later. The baseline is a raw sarama producer and
// consumer doing the same in a run of their own (the same ticks, a fresh
// topic pre-filled alike): from the producer's acknowledgement to the
// consumer's receipt, the consumer "recovered" once it has read what every
// partition held when it started.
func viewFreshnessWorkload(ctx context.Context, e *env) ([]result, error) {
	type sides struct{ view, raw freshPools }
	all := make([]sides, len(freshRates))
	var steps []func() error
	for i, rate := range freshRates {
		steps = append(steps,
			func() error { return e.freshRun(ctx, rate, e.viewSide, &all[i].view) },
			func() error { return e.freshRun(ctx, rate, e.rawFreshSide, &all[i].raw) },
		)
	}
	if err := interleave(e.opts.runs, steps...); err != nil {
		return nil, err
	}

	s := e.opts.sizes
	var rows []result
	for i, rate := range freshRates {
		name := fmt.Sprintf("view-freshness-%s", rateName(rate))
		v, r := &all[i].view, &all[i].raw
		steady := newResult(name, "msgs/s", v.steady.timing())
		steady.addBaseline("sarama producer ack to consumer receipt", r.steady.timing())
		steady.Note = fmt.Sprintf("%d msg/s, %s from %s after WaitRecovered, %d runs pooled; %s; %s",
			rate, time.Duration(s.FreshDur), 2*time.Duration(s.FreshWin), v.steady.runs, targetNote("view", v.steady.timing().lat), targetNote("raw", r.steady.timing().lat))
		recovery := newResult(name+"-recovery", "msgs/s", v.recovery.timing())
		recovery.addBaseline("sarama producer ack to consumer receipt", r.recovery.timing())
		recovery.Note = fmt.Sprintf("%d msg/s, the first %s after WaitRecovered, the view started while writes went on, %d runs pooled; %s; %s",
			rate, time.Duration(s.FreshWin), v.recovery.runs, targetNote("view", v.recovery.timing().lat), targetNote("raw", r.recovery.timing().lat))
		rows = append(rows, steady, recovery)
	}
	return rows, nil
}

// rateName shows 100 as "100" and 10000 as "10k".
func rateName(rate int) string {
	if rate >= 1000 && rate%1000 == 0 {
		return fmt.Sprintf("%dk", rate/1000)
	}
	return fmt.Sprint(rate)
}

// freshPools are the two windows of one side at one rate, over all runs.
type freshPools struct{ steady, recovery pooled }

// freshSide is one side of view-freshness: how it writes and how it reads.
type freshSide struct {
	// send writes message seq, whose acknowledgement it stamps.
	send func(ctx context.Context, seq int64) error
	// flush waits for every acknowledgement and closes the writer.
	flush func() error
	// start begins reading and returns once the reader reports recovered;
	// what it reads it stamps as seen. stop ends the reads.
	start func(ctx context.Context) (stop func() error, err error)
}

// freshRun measures one side once at rate: it pre-fills a fresh table
// topic with every key, starts the paced writes, starts the reader, and
// after the windows stops the writes and waits until the reader has seen
// every message written in them.
func (e *env) freshRun(ctx context.Context, rate int, newSide func(topic string, st *stamps) (freshSide, func(), error), pools *freshPools) error {
	s := e.opts.sizes
	topic := e.name("fresh-" + rateName(rate))
	if err := e.createTopic(topic, s.Partitions, true); err != nil {
		return err
	}
	if err := e.produce(topic, s.Keys, func(i int) record { return record{keyOf(i), []byte("0")} }); err != nil {
		return err
	}
	st := &stamps{}
	w := openMemWindow()
	side, cleanup, err := newSide(topic, st)
	if err != nil {
		return err
	}
	defer cleanup()
	writer := runInBackground(ctx, func(ctx context.Context) error {
		return pace(ctx, rate, func(seq int64) error { return side.send(ctx, seq) })
	})
	stopReader, err := side.start(ctx)
	if err != nil {
		return errors.Join(err, writer.stop(), side.flush())
	}
	recovered := time.Now()
	win, steadyDur := time.Duration(s.FreshWin), time.Duration(s.FreshDur)
	steadyFrom := recovered.Add(2 * win)
	end := steadyFrom.Add(steadyDur)
	err = writer.waitUntil(ctx, end)
	err = errors.Join(err, writer.stop(), side.flush())
	if err == nil {
		err = st.awaitSeen(ctx, recovered, end)
	}
	mem := w.close()
	if err = errors.Join(err, stopReader()); err != nil {
		return err
	}
	rec, _ := st.window(recovered, recovered.Add(win))
	pools.recovery.add(rec, win, mem)
	steady, _ := st.window(steadyFrom, end)
	pools.steady.add(steady, steadyDur, mem)
	return nil
}

// viewSide writes with the library's emitter and reads with a view polled
// every freshPoll.
func (e *env) viewSide(topic string, st *stamps) (freshSide, func(), error) {
	s := e.opts.sizes
	dir, cleanup, err := tempDir("fresh-view")
	if err != nil {
		return freshSide{}, nil, err
	}
	em, err := goka.NewEmitter(e.brokers, goka.Stream(topic), new(codec.Int64), e.emitterOptions()...)
	if err != nil {
		cleanup()
		return freshSide{}, nil, err
	}
	pending := newPendingReads(s.Partitions)
	send := func(_ context.Context, seq int64) error {
		key := keyOf(int(seq % int64(s.Keys)))
		pending.push(partitionOf(key, int32(s.Partitions)), seq)
		promise, err := em.Emit(key, seq+1)
		if err != nil {
			return err
		}
		promise.Then(func(err error) {
			if err != nil {
				st.fail(fmt.Errorf("emitting %d to %s: %w", seq, topic, err))
				return
			}
			st.ack(seq, time.Now())
		})
		return nil
	}
	start := func(ctx context.Context) (func() error, error) {
		view, err := goka.NewView(e.brokers, goka.Table(topic), new(codec.Int64), e.viewOptions(dir)...)
		if err != nil {
			return nil, err
		}
		run := runInBackground(ctx, view.Run)
		ready := make(chan struct{})
		readyErr := make(chan error, 1)
		go func() {
			readyErr <- view.WaitRecovered(ctx)
			close(ready)
		}()
		if err := run.await(ctx, ready, "WaitRecovered"); err != nil {
			return nil, errors.Join(err, run.stop())
		}
		if err := <-readyErr; err != nil {
			return nil, errors.Join(err, run.stop())
		}
		watch := runInBackground(ctx, func(ctx context.Context) error { return watchView(ctx, view, pending, s.Keys, st) })
		return func() error { return errors.Join(watch.stop(), run.stop()) }, nil
	}
	return freshSide{send: send, flush: em.Finish, start: start}, cleanup, nil
}

// watchView stamps a message as seen when View.Get of its key returns its
// value or a later one. A partition's messages apply in the order they were
// written, so only the oldest one not yet seen of each partition is read.
func watchView(ctx context.Context, view *goka.View, pending *pendingReads, keys int, st *stamps) error {
	t := time.NewTicker(freshPoll)
	defer t.Stop()
	for {
		for p := range pending.partitions() {
			for {
				seq, ok := pending.head(p)
				if !ok {
					break
				}
				v, err := view.Get(keyOf(int(seq % int64(keys))))
				if err != nil {
					return fmt.Errorf("reading message %d: %w", seq, err)
				}
				if got, _ := v.(int64); got < seq+1 {
					break
				}
				st.see(seq, time.Now())
				pending.pop(p)
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// rawFreshSide writes with a raw sarama producer and reads with a raw
// sarama consumer.
func (e *env) rawFreshSide(topic string, st *stamps) (freshSide, func(), error) {
	s := e.opts.sizes
	producer, err := e.newPacedProducer(topic, st)
	if err != nil {
		return freshSide{}, nil, err
	}
	send := func(ctx context.Context, seq int64) error {
		return producer.send(ctx, seq, keyOf(int(seq%int64(s.Keys))))
	}
	start := func(ctx context.Context) (func() error, error) {
		f, err := e.follow(ctx, topic, st)
		if err != nil {
			return nil, err
		}
		select {
		case <-f.caughtUp:
			return f.stop, nil
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), f.stop())
		}
	}
	return freshSide{send: send, flush: producer.close, start: start}, func() {}, nil
}

// pendingReads are, per partition, the messages written and not yet seen
// in the view, oldest first.
type pendingReads struct {
	mu sync.Mutex
	q  [][]int64
}

func newPendingReads(partitions int) *pendingReads {
	return &pendingReads{q: make([][]int64, partitions)}
}

func (r *pendingReads) partitions() int { return len(r.q) }

func (r *pendingReads) push(p int32, seq int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.q[p] = append(r.q[p], seq)
}

func (r *pendingReads) head(p int) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.q[p]) == 0 {
		return 0, false
	}
	return r.q[p][0], true
}

func (r *pendingReads) pop(p int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.q[p] = r.q[p][1:]
}
