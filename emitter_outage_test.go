package goka

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
)

// failoverOutage is how long the broker is unreachable in the test below:
// about what a leader failover takes on a replicated cluster (a dead
// broker is noticed after broker.session.timeout.ms, then a new leader is
// elected).
const failoverOutage = 4 * time.Second

// TestEmitterRidesThroughAFailover: with DefaultConfig, a send made while
// the partition leader is unreachable for a failover's time is delivered
// once it is back, instead of failing after the producer's retries ran out
// (a processor would stop on such a failure).
func TestEmitterRidesThroughAFailover(t *testing.T) {
	t.Parallel()
	e := newViewEnv(t, true)
	e.createTable("events", 1)
	config := DefaultConfig()
	config.Net.DialTimeout = time.Second
	em, err := NewEmitter(e.brokers, "events", new(codec.String), WithEmitterProducerBuilder(ProducerBuilderWithConfig(config)))
	require.NoError(t, err)
	defer func() { require.NoError(t, em.Finish()) }()
	require.NoError(t, em.EmitSync("before", "1"), "a send before the outage")

	e.proxy.Cut()
	restore := time.AfterFunc(failoverOutage, e.proxy.Restore)
	defer restore.Stop()
	began := time.Now()
	require.NoError(t, em.EmitSync("during", "2"), "a send made while the leader is unreachable, after %s", time.Since(began))
	require.GreaterOrEqual(t, time.Since(began), failoverOutage/2, "the send waited for the broker")
}
