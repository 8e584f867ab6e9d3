package engine

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

// Consume joins the consumer group cg and runs one session after the other,
// with g as the sessions' handler, until ctx ends. A session that sarama cannot start (the group coordinator or a
// partition leader is failing over, a broker restarts) is tried again with
// a short backoff, for up to Config.GroupRetryTimeout of failures in a row:
// a leader failover on a replicated cluster takes seconds, and a processor
// that stopped for each one would need a restart loop around Run. Failures
// of the processor's own partitions cancel ctx through fail and are not
// retried here.
func (g *Group) Consume(ctx context.Context, cg sarama.ConsumerGroup) error {
	topics := g.cfg.Plan.Subscribed
	// Not the tables' backoff (WithBackoffBuilder, 10 s steps by default):
	// a failover is over within seconds, and the whole budget is 15 s.
	backoff := NewLinearBackoff(groupRetryStep, groupRetryMax)
	var failingSince time.Time
	for ctx.Err() == nil {
		err := cg.Consume(ctx, topics, g)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			failingSince = time.Time{}
			backoff.Reset()
			continue
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return fmt.Errorf("processor %q: consuming from the group: %w", g.cfg.Plan.Group, err)
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if time.Since(failingSince) >= g.cfg.GroupRetryTimeout {
			return fmt.Errorf("processor %q: consuming from the group, failing for %s: %w",
				g.cfg.Plan.Group, time.Since(failingSince).Round(time.Millisecond), err)
		}
		// Never wait past the budget: the last attempt comes at its end.
		wait := min(backoff.Duration(), g.cfg.GroupRetryTimeout-time.Since(failingSince))
		g.cfg.Log.Printf("consuming from the group failed, trying again in %s (giving up after %s of failures): %v",
			wait, g.cfg.GroupRetryTimeout, err)
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
		}
	}
	return nil
}
