package main

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
)

// durabilityWorkload measures what the durable defaults cost: the counting
// processor and the emitter with DefaultConfig (WaitForAll, the idempotent
// producer, one request in flight per connection) and with the defaults
// before them (WaitForLocal, no idempotence, sarama's five requests in
// flight), each next to its raw sarama baseline configured the same way. All
// eight measurements of a workload run interleaved in the same run, so the
// ratios between the two configurations see the same machine.
func durabilityWorkload(ctx context.Context, e *env) ([]result, error) {
	durable := e
	local := e.withConfig(localDeliveryConfig(e.cfg))
	s := e.opts.sizes

	input, err := e.countingInput("dur-input")
	if err != nil {
		return nil, err
	}
	topic := e.name("dur-emit")
	if err := e.createTopic(topic, s.Partitions, false); err != nil {
		return nil, err
	}
	emitted := string(filler(s.ValueSize))

	procOf := func(name string, v *env) *measurement {
		return &measurement{name: name, run: func() (timing, error) {
			t, note, err := v.countingProcessor(ctx, input)
			if err == nil && note != "Run to the last callback" {
				err = fmt.Errorf("%s", note)
			}
			return t, err
		}}
	}
	pipeOf := func(name string, v *env) *measurement {
		return &measurement{name: name, run: func() (timing, error) { return v.rawPipeline(ctx, input) }}
	}
	procD, pipeD := procOf("processor, durable", durable), pipeOf("raw pipeline, durable", durable)
	procL, pipeL := procOf("processor, local acks", local), pipeOf("raw pipeline, local acks", local)
	if err := measureAll(e.opts.runs, pipeL, procL, pipeD, procD); err != nil {
		return nil, err
	}

	emD := &measurement{name: "emitter, durable", run: func() (timing, error) { return durable.emitAsync(topic, emitted) }}
	rawD := &measurement{name: "raw producer, durable", run: func() (timing, error) { return durable.rawProduce(ctx, topic, emitted) }}
	emL := &measurement{name: "emitter, local acks", run: func() (timing, error) { return local.emitAsync(topic, emitted) }}
	rawL := &measurement{name: "raw producer, local acks", run: func() (timing, error) { return local.rawProduce(ctx, topic, emitted) }}
	syncD := &measurement{name: "EmitSync, durable", run: func() (timing, error) { return durable.emitSync(topic, emitted) }}
	rawSyncD := &measurement{name: "raw one in flight, durable", run: func() (timing, error) { return durable.rawProduceSync(ctx, topic, emitted) }}
	syncL := &measurement{name: "EmitSync, local acks", run: func() (timing, error) { return local.emitSync(topic, emitted) }}
	rawSyncL := &measurement{name: "raw one in flight, local acks", run: func() (timing, error) { return local.rawProduceSync(ctx, topic, emitted) }}
	if err := measureAll(e.opts.runs, rawL, emL, rawD, emD, rawSyncL, syncL, rawSyncD, syncD); err != nil {
		return nil, err
	}

	rows := []result{
		pair("durability-processor", "sarama consume+produce", procD, pipeD, procL, pipeL),
		pair("durability-emitter", "sarama async producer", emD, rawD, emL, rawL),
		pair("durability-emitter-sync", "sarama async producer, 1 in flight", syncD, rawSyncD, syncL, rawSyncL),
		pair("durability-processor-local", "sarama consume+produce", procL, pipeL, nil, nil),
		pair("durability-emitter-local", "sarama async producer", emL, rawL, nil, nil),
		pair("durability-emitter-sync-local", "sarama async producer, 1 in flight", syncL, rawSyncL, nil, nil),
	}
	return rows, nil
}

// pair makes the row of lib against raw, the baseline configured as lib is.
// With the same pair under the old defaults (libL, rawL), it adds them as
// baselines too: lib over libL is the library's cost of durability, and the
// note gives raw over rawL, sarama's own cost of it.
func pair(name, rawName string, lib, raw, libL, rawL *measurement) result {
	r := newResult(name, "msgs/s", lib.best)
	r.addBaseline(rawName+", same config", raw.best)
	if libL == nil {
		r.Note = "old defaults (WaitForLocal, not idempotent, 5 requests in flight), library and baseline alike"
		return r
	}
	r.addBaseline("library, old defaults", libL.best)
	r.addBaseline(rawName+", old defaults", rawL.best)
	r.Note = fmt.Sprintf("DefaultConfig (WaitForAll, idempotent, 1 request in flight); sarama alone runs at %.2f of its old-defaults rate", ratio(raw.best.rate(), rawL.best.rate()))
	return r
}

// localDeliveryConfig is cfg with the producer settings DefaultConfig had
// before it became durable: the leader alone acknowledges, no idempotence,
// and sarama's default of five requests in flight per connection.
func localDeliveryConfig(cfg *sarama.Config) *sarama.Config {
	c := *cfg
	c.Producer.RequiredAcks = sarama.WaitForLocal
	c.Producer.Idempotent = false
	c.Net.MaxOpenRequests = sarama.NewConfig().Net.MaxOpenRequests
	return &c
}
