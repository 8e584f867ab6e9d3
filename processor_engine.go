package goka

import (
	"fmt"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/engine"
)

// engineConfig hands the engine what it needs of the processor: the
// compiled graph, the clients Run built, the options, and the ways back
// (fail, the rebalance callback). The engine sees none of the API's types.
func (p *Processor) engineConfig() *engine.Config {
	cfg := &engine.Config{
		Plan:         p.compiled.plan,
		Producer:     engineProducer{p.producer},
		Stores:       p.stores,
		Metrics:      p.metrics,
		Log:          p.log,
		PartitionLog: p.partitionLog,
		ClaimLog: func(topic string, partition int32) engine.Logger {
			return p.log.With("topic", topic).With("partition", partition)
		},
		NilHandling: engine.NilHandling(p.opts.nilHandling),
		ChannelSize: p.opts.partitionChannelSize,
		StopTimeout: p.opts.stopTimeout,
		CacheRows:   p.opts.cacheRows,
		Backoff: func() (engine.Backoff, error) {
			b, err := p.opts.builders.backoff()
			if err != nil {
				return nil, err
			}
			return b, nil
		},
		OnFail:            p.fail,
		NumPartitions:     p.numPartitions,
		HotStandby:        p.opts.hotStandby,
		RecoverAhead:      p.opts.recoverAhead,
		GroupRetryTimeout: p.opts.groupRetryTimeout,
		Rebalanced:        p.callRebalanceCallback,
	}
	if reader, ok := p.tmgr.(engine.ClaimOffsetsReader); ok {
		cfg.Offsets = reader
	}
	return cfg
}

// partitionLog is the logger of one partition.
func (p *Processor) partitionLog(partition int32) engine.Logger {
	return p.log.Prefix(fmt.Sprintf("PartitionProcessor (%d)", partition)).With("partition", partition)
}

// partitions returns the partitions of the current session; none before Run.
func (p *Processor) partitions() []*engine.Partition {
	group := p.group.Load()
	if group == nil {
		return nil
	}
	return group.Partitions()
}

// callRebalanceCallback tells the user's rebalance callback the session's
// partitions; a panic in it stops the processor with an error instead of
// ending the process.
func (p *Processor) callRebalanceCallback(assigned []int32) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("processor %q: %w", p.graph.Group(), engine.PanicError("rebalance callback", r))
		}
	}()
	p.opts.rebalanceCallback(newAssignment(assigned))
	return nil
}

// engineProducer sends the engine's records with the processor's Producer.
type engineProducer struct{ Producer }

func (e engineProducer) Send(topic, key string, value []byte, headers map[string][]byte, done func(*sarama.ProducerMessage, error)) {
	e.EmitWithHeaders(topic, key, value, headers).ThenWithMessage(done)
}
