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

// procLatRate is the input rate of processor-latency, messages per second.
const procLatRate = 1000

// processorLatencyWorkload measures a processor's end-to-end latency: input
// written by a raw producer at procLatRate for LatDur, a callback that
// counts the key in the group table and emits the message to an output
// topic, and a raw consumer reading that output; each message's latency
// runs from the input's acknowledgement to the consumer's receipt of its
// output. The baseline is a raw sarama consume-then-produce pipeline (a
// consumer group and an async producer, the input offset marked once the
// output is acknowledged, no table) between the same producer and
// consumer, in a run of its own.
func processorLatencyWorkload(ctx context.Context, e *env) ([]result, error) {
	var lib, raw pooled
	err := interleave(e.opts.runs,
		func() error { return e.procLatencyRun(ctx, "lat-proc", e.latencyProcessor, &lib) },
		func() error { return e.procLatencyRun(ctx, "lat-pipe", e.latencyPipeline, &raw) },
	)
	if err != nil {
		return nil, err
	}
	r := newResult("processor-latency", "msgs/s", lib.timing())
	r.addBaseline("sarama consume+produce, same rate", raw.timing())
	r.Note = fmt.Sprintf("%d msg/s for %s, %d partitions, input ack to output receipt, %d runs pooled; %s; %s",
		procLatRate, time.Duration(e.opts.sizes.LatDur), e.opts.sizes.Partitions, lib.runs,
		targetNote("processor", lib.timing().lat), targetNote("raw", raw.timing().lat))
	return []result{r}, nil
}

// procLatencyRun measures one stage once: it starts the output's
// consumer and the stage, warms them up, writes input at procLatRate for
// LatDur, and waits until every message's output has been received.
func (e *env) procLatencyRun(ctx context.Context, what string, stage func(ctx context.Context, input, output string) (func() error, error), pool *pooled) error {
	s := e.opts.sizes
	input, output := e.name(what+"-input"), e.name(what+"-output")
	for _, topic := range []string{input, output} {
		if err := e.createTopic(topic, s.Partitions, false); err != nil {
			return err
		}
	}
	st := &stamps{}
	w := openMemWindow()
	reader, err := e.follow(ctx, output, st)
	if err != nil {
		return err
	}
	stopStage, err := stage(ctx, input, output)
	if err != nil {
		return errors.Join(err, reader.stop())
	}
	producer, err := e.newPacedProducer(input, st)
	if err != nil {
		return errors.Join(err, stopStage(), reader.stop())
	}
	// One message per key, unpaced and untimed, until each has come out: a
	// sarama consumer subscribes the partitions it starts in batches every
	// 100 ms, and a run that timed its first messages would time that start
	// (about 100 ms on both sides), not the stage.
	for i := range s.Keys {
		if err := producer.send(ctx, int64(i), keyOf(i)); err != nil {
			return errors.Join(err, producer.close(), stopStage(), reader.stop())
		}
	}
	if err := st.awaitFirst(ctx, s.Keys); err != nil {
		return errors.Join(fmt.Errorf("warming up: %w", err), producer.close(), stopStage(), reader.stop())
	}
	warm := int64(s.Keys)
	writer := runInBackground(ctx, func(ctx context.Context) error {
		return pace(ctx, procLatRate, func(i int64) error {
			seq := warm + i
			return producer.send(ctx, seq, keyOf(int(seq%int64(s.Keys))))
		})
	})
	start := time.Now()
	err = writer.waitUntil(ctx, start.Add(time.Duration(s.LatDur)))
	elapsed := time.Since(start)
	err = errors.Join(err, writer.stop(), producer.close())
	end := time.Now()
	if err == nil {
		err = st.awaitSeen(ctx, start, end)
	}
	mem := w.close()
	if err = errors.Join(err, stopStage(), reader.stop()); err != nil {
		return err
	}
	lat, _ := st.window(start, end)
	pool.add(lat, elapsed, mem)
	return nil
}

// latencyProcessor starts a processor that counts each input message's key
// in its group table and emits the message to output, and returns once it
// is ready.
func (e *env) latencyProcessor(ctx context.Context, input, output string) (func() error, error) {
	return e.latencyProcessorWith()(ctx, input, output)
}

// latencyProcessorWith is latencyProcessor with extra processor options.
func (e *env) latencyProcessorWith(extra ...goka.ProcessorOption) func(ctx context.Context, input, output string) (func() error, error) {
	return func(ctx context.Context, input, output string) (func() error, error) {
		return e.startLatencyProcessor(ctx, input, output, extra)
	}
}

func (e *env) startLatencyProcessor(ctx context.Context, input, output string, extra []goka.ProcessorOption) (func() error, error) {
	group := e.group("lat-proc")
	e.ownTopic(string(goka.GroupTable(goka.Group(group))))
	dir, cleanup, err := tempDir("lat-proc")
	if err != nil {
		return nil, err
	}
	forward := func(ctx goka.Context, msg any) {
		var c int64
		if v := ctx.Value(); v != nil {
			c = v.(int64)
		}
		ctx.SetValue(c + 1)
		ctx.Emit(goka.Stream(output), ctx.Key(), msg)
	}
	gg := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.Bytes), forward),
		goka.Output(goka.Stream(output), new(codec.Bytes)),
		goka.Persist(new(codec.Int64)))
	proc, err := goka.NewProcessor(e.brokers, gg, append(e.processorOptions(dir), extra...)...)
	if err != nil {
		cleanup()
		return nil, err
	}
	run := runInBackground(ctx, proc.Run)
	stop := func() error {
		defer cleanup()
		return run.stop()
	}
	ready := make(chan struct{})
	readyErr := make(chan error, 1)
	go func() {
		readyErr <- proc.WaitForReadyContext(ctx)
		close(ready)
	}()
	if err := run.await(ctx, ready, "WaitForReady"); err != nil {
		return nil, errors.Join(err, stop())
	}
	if err := <-readyErr; err != nil {
		return nil, errors.Join(err, stop())
	}
	return stop, nil
}

// latencyPipeline starts the raw pipeline: a sarama consumer group on input
// whose every message goes to output through an async producer, the input
// offset marked once the output is acknowledged. It returns once the group
// has set up its session.
func (e *env) latencyPipeline(ctx context.Context, input, output string) (func() error, error) {
	group := e.group("lat-pipe")
	type origin struct {
		sess sarama.ConsumerGroupSession
		msg  *sarama.ConsumerMessage
	}
	producer, err := sarama.NewAsyncProducer(e.brokers, e.producerConfig())
	if err != nil {
		return nil, err
	}
	st := &stamps{} // only its first error
	pp := &pacedProducer{producer: producer, topic: output}
	pp.drained.Add(2)
	go func() {
		defer pp.drained.Done()
		for m := range producer.Successes() {
			o := m.Metadata.(origin)
			o.sess.MarkMessage(o.msg, "")
		}
	}()
	go func() {
		defer pp.drained.Done()
		for perr := range producer.Errors() {
			st.fail(fmt.Errorf("producing to %s: %w", output, perr.Err))
		}
	}()
	cg, err := sarama.NewConsumerGroup(e.brokers, group, e.config())
	if err != nil {
		return nil, errors.Join(err, pp.close())
	}
	ready := make(chan struct{})
	handler := &setupSignal{ready: ready, claimHandler: func(sess sarama.ConsumerGroupSession, msg *sarama.ConsumerMessage) {
		out := &sarama.ProducerMessage{Topic: output, Key: sarama.ByteEncoder(msg.Key), Value: sarama.ByteEncoder(msg.Value), Metadata: origin{sess, msg}}
		select {
		case producer.Input() <- out:
		case <-sess.Context().Done():
		}
	}}
	run := consumeInBackground(ctx, cg, input, handler)
	stop := func() error { return errors.Join(run.stop(), pp.close(), st.err()) }
	if err := run.await(ctx, ready, "the group's session"); err != nil {
		return nil, errors.Join(err, stop())
	}
	return stop, nil
}

// setupSignal is a claimHandler that closes ready when its first session
// is set up.
type setupSignal struct {
	claimHandler
	ready chan struct{}
	once  sync.Once
}

func (h *setupSignal) Setup(sarama.ConsumerGroupSession) error {
	h.once.Do(func() { close(h.ready) })
	return nil
}
