package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// emitterWorkload measures asynchronous emits until Finish returns, and
// EmitSync's latency, each against a raw sarama async producer doing the
// same, once with the library's configuration and once with sarama's
// defaults.
func emitterWorkload(ctx context.Context, e *env) ([]result, error) {
	s := e.opts.sizes
	topic := e.name("emit")
	if err := e.createTopic(topic, s.Partitions, false); err != nil {
		return nil, err
	}
	value := string(filler(s.ValueSize))

	lib := &measurement{name: "emitter", run: func() (timing, error) { return e.emitAsync(topic, value) }}
	raw := &measurement{name: "raw producer", run: func() (timing, error) { return e.rawProduce(ctx, topic, value) }}
	libSync := &measurement{name: "EmitSync", run: func() (timing, error) { return e.emitSync(topic, value) }}
	rawSync := &measurement{name: "raw producer, one at a time", run: func() (timing, error) { return e.rawProduceSync(ctx, topic, value) }}
	def := e.defaults()
	rawDef := &measurement{name: "raw producer, sarama defaults", run: func() (timing, error) { return def.rawProduce(ctx, topic, value) }}
	rawSyncDef := &measurement{name: "raw producer, one at a time, sarama defaults", run: func() (timing, error) { return def.rawProduceSync(ctx, topic, value) }}
	if err := measureAll(e.opts.runs, lib, raw, rawDef, libSync, rawSync, rawSyncDef); err != nil {
		return nil, err
	}

	async := newResult("emitter", "msgs/s", lib.best)
	async.addBaselinePair("sarama async producer", rawDef.best, raw.best)
	async.Note = fmt.Sprintf("%d Emit calls, then Finish", s.EmitN)
	sync := newResult("emitter-sync", "msgs/s", libSync.best)
	sync.addBaselinePair("sarama async producer, 1 in flight", rawSyncDef.best, rawSync.best)
	sync.Note = fmt.Sprintf("%d sequential EmitSync calls; flush frequency %s", s.EmitSyncN, e.cfg.Producer.Flush.Frequency)
	return []result{async, sync}, nil
}

// emitAsync times EmitN emits and the Finish that waits for their acks.
func (e *env) emitAsync(topic, value string) (timing, error) {
	n := e.opts.sizes.EmitN
	keys := e.opts.sizes.Keys
	w := openMemWindow()
	em, err := goka.NewEmitter(e.brokers, goka.Stream(topic), new(codec.String), e.emitterOptions()...)
	if err != nil {
		return timing{}, err
	}
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	onDone := func(err error) {
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, &err)
		}
	}
	stopProfiles := e.startProfiles("emitter")
	start := time.Now()
	for i := range n {
		promise, err := em.Emit(keyOf(i%keys), value)
		if err != nil {
			_ = em.Finish()
			stopProfiles()
			return timing{}, err
		}
		promise.Then(onDone)
	}
	err = em.Finish()
	elapsed := time.Since(start)
	stopProfiles()
	mem := w.close()
	if err != nil {
		return timing{}, err
	}
	if f := failed.Load(); f > 0 {
		return timing{}, fmt.Errorf("%d of %d emits failed, the first with: %w", f, n, *firstErr.Load())
	}
	return timing{count: int64(n), elapsed: elapsed, mem: mem}, nil
}

// emitSync times EmitSyncN sequential EmitSync calls after one untimed
// call that establishes the connections.
func (e *env) emitSync(topic, value string) (timing, error) {
	n := e.opts.sizes.EmitSyncN
	keys := e.opts.sizes.Keys
	w := openMemWindow()
	em, err := goka.NewEmitter(e.brokers, goka.Stream(topic), new(codec.String), e.emitterOptions()...)
	if err != nil {
		return timing{}, err
	}
	defer em.Finish()
	if err := em.EmitSync(keyOf(0), value); err != nil {
		return timing{}, err
	}
	stopProfiles := e.startProfiles("emitter-sync")
	samples := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n {
		t0 := time.Now()
		if err := em.EmitSync(keyOf(i%keys), value); err != nil {
			stopProfiles()
			return timing{}, err
		}
		samples = append(samples, time.Since(t0))
	}
	elapsed := time.Since(start)
	stopProfiles()
	return timing{count: int64(n), elapsed: elapsed, lat: summarise(samples), mem: w.close()}, nil
}

// rawProduce is emitAsync's baseline: EmitN messages through a sarama
// AsyncProducer, every success and error drained, then Close.
func (e *env) rawProduce(ctx context.Context, topic, value string) (timing, error) {
	n := e.opts.sizes.EmitN
	keys := e.opts.sizes.Keys
	w := openMemWindow()
	producer, err := sarama.NewAsyncProducer(e.brokers, e.producerConfig())
	if err != nil {
		return timing{}, err
	}
	start := time.Now()
	go func() {
		for i := range n {
			msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(keyOf(i % keys)), Value: sarama.StringEncoder(value)}
			select {
			case producer.Input() <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	var failures []error
	for range n {
		select {
		case <-producer.Successes():
		case perr := <-producer.Errors():
			failures = append(failures, perr.Err)
		case <-ctx.Done():
			producer.AsyncClose()
			return timing{}, ctx.Err()
		}
	}
	err = producer.Close()
	elapsed := time.Since(start)
	mem := w.close()
	if len(failures) > 0 {
		return timing{}, fmt.Errorf("%d sends failed: %w", len(failures), errors.Join(failures...))
	}
	if err != nil {
		return timing{}, err
	}
	return timing{count: int64(n), elapsed: elapsed, mem: mem}, nil
}

// rawProduceSync is emitSync's baseline: one message into the async
// producer, wait for its success, the next.
func (e *env) rawProduceSync(ctx context.Context, topic, value string) (timing, error) {
	n := e.opts.sizes.EmitSyncN
	keys := e.opts.sizes.Keys
	w := openMemWindow()
	producer, err := sarama.NewAsyncProducer(e.brokers, e.producerConfig())
	if err != nil {
		return timing{}, err
	}
	defer producer.Close()
	send := func(key string) error {
		producer.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder(value)}
		select {
		case <-producer.Successes():
			return nil
		case perr := <-producer.Errors():
			return perr.Err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := send(keyOf(0)); err != nil {
		return timing{}, err
	}
	samples := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n {
		t0 := time.Now()
		if err := send(keyOf(i % keys)); err != nil {
			return timing{}, err
		}
		samples = append(samples, time.Since(t0))
	}
	elapsed := time.Since(start)
	return timing{count: int64(n), elapsed: elapsed, lat: summarise(samples), mem: w.close()}, nil
}
