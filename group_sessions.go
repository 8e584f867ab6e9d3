package goka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// groupRetryStep and groupRetryMax space the attempts to join the group
// after a failure: at once, then 0.5 s more each time, up to 2 s.
const (
	groupRetryStep = 500 * time.Millisecond
	groupRetryMax  = 2 * time.Second
)

// consumeSessions runs one consumer group session after the other until ctx
// ends. A session that sarama cannot start (the group coordinator or a
// partition leader is failing over, a broker restarts) is tried again with
// a short backoff, for up to groupRetryTimeout of failures in a row:
// a leader failover on a replicated cluster takes seconds, and a processor
// that stopped for each one would need a restart loop around Run. Failures
// of the processor's own partitions cancel ctx through fail and are not
// retried here.
func (p *Processor) consumeSessions(ctx context.Context, cg sarama.ConsumerGroup, handler sarama.ConsumerGroupHandler, topics []string) error {
	// Not the tables' backoff (WithBackoffBuilder, 10 s steps by default):
	// a failover is over within seconds, and the whole budget is 15 s.
	backoff := NewSimpleBackoff(groupRetryStep, groupRetryMax)
	var failingSince time.Time
	for ctx.Err() == nil {
		err := cg.Consume(ctx, topics, handler)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			failingSince = time.Time{}
			backoff.Reset()
			continue
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return fmt.Errorf("processor %q: consuming from the group: %w", p.graph.Group(), err)
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if time.Since(failingSince) >= p.opts.groupRetryTimeout {
			return fmt.Errorf("processor %q: consuming from the group, failing for %s: %w",
				p.graph.Group(), time.Since(failingSince).Round(time.Millisecond), err)
		}
		// Never wait past the budget: the last attempt comes at its end.
		wait := min(backoff.Duration(), p.opts.groupRetryTimeout-time.Since(failingSince))
		p.log.Printf("consuming from the group failed, trying again in %s (giving up after %s of failures): %v",
			wait, p.opts.groupRetryTimeout, err)
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
		}
	}
	return nil
}
