package goka

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())

	assert.Equal(t, sarama.V2_8_0_0, c.Version)
	assert.True(t, c.Consumer.Return.Errors)
	assert.Equal(t, time.Second, c.Consumer.MaxProcessingTime)
	assert.Equal(t, sarama.OffsetNewest, c.Consumer.Offsets.Initial)
	assert.Nil(t, c.Consumer.Group.Rebalance.Strategy, "the deprecated field makes sarama warn")
	require.Len(t, c.Consumer.Group.Rebalance.GroupStrategies, 1)
	assert.Equal(t, CopartitioningStrategy, c.Consumer.Group.Rebalance.GroupStrategies[0])
	assert.Equal(t, sarama.WaitForAll, c.Producer.RequiredAcks)
	assert.True(t, c.Producer.Idempotent)
	assert.Equal(t, 1, c.Net.MaxOpenRequests)
	assert.True(t, c.Version.IsAtLeast(sarama.V0_11_0_0))
	assert.Equal(t, sarama.CompressionSnappy, c.Producer.Compression)
	assert.Equal(t, time.Millisecond, c.Producer.Flush.Frequency)
	assert.Equal(t, 64*1024, c.Producer.Flush.Bytes)
	assert.True(t, c.Producer.Return.Successes)
	assert.True(t, c.Producer.Return.Errors)
	assert.Equal(t, defaultProducerRetries, c.Producer.Retry.Max)
	var budget time.Duration
	for retry := 1; retry <= c.Producer.Retry.Max; retry++ {
		budget += c.Producer.Retry.BackoffFunc(retry, c.Producer.Retry.Max)
	}
	assert.True(t, budget >= 15*time.Second && budget <= 30*time.Second, "a send is retried for %s: a leader failover must fit, a dead cluster must not hang a send", budget)
	budget = 0
	for retry := range c.Metadata.Retry.Max {
		budget += c.Metadata.Retry.BackoffFunc(retry, c.Metadata.Retry.Max)
	}
	assert.True(t, budget >= 10*time.Second && budget <= 30*time.Second, "a metadata refresh is retried for %s: a leader election must fit", budget)

	// What goka leaves at sarama's defaults stays there.
	s := sarama.NewConfig()
	assert.Equal(t, s.Consumer.Offsets.AutoCommit, c.Consumer.Offsets.AutoCommit)
	assert.Equal(t, s.Consumer.Group.Session.Timeout, c.Consumer.Group.Session.Timeout)
	assert.Equal(t, s.ChannelBufferSize, c.ChannelBufferSize)
}

func TestDefaultConfigIsNewEachCall(t *testing.T) {
	a, b := DefaultConfig(), DefaultConfig()
	require.NotSame(t, a, b)
	a.ClientID = "changed"
	a.Consumer.Group.Rebalance.GroupStrategies[0] = sarama.NewBalanceStrategyRange()
	assert.NotEqual(t, "changed", b.ClientID)
	assert.Equal(t, CopartitioningStrategy, b.Consumer.Group.Rebalance.GroupStrategies[0])
}

func TestReplaceGlobalConfig(t *testing.T) {
	saved := globalConfig()
	defer ReplaceGlobalConfig(saved)

	c := DefaultConfig()
	c.ClientID = "replaced"
	ReplaceGlobalConfig(c)

	// The global config is a copy: changing c afterwards has no effect.
	c.ClientID = "changed after"
	got := globalConfig()
	assert.Equal(t, "replaced", got.ClientID)

	// globalConfig hands out copies too.
	got.ClientID = "changed copy"
	assert.Equal(t, "replaced", globalConfig().ClientID)
}

func TestReplaceGlobalConfigNilPanics(t *testing.T) {
	assert.PanicsWithValue(t, "goka: ReplaceGlobalConfig called with a nil config", func() {
		ReplaceGlobalConfig(nil)
	})
	assert.NotNil(t, globalConfig())
}

func TestGlobalConfigConcurrent(t *testing.T) {
	saved := globalConfig()
	defer ReplaceGlobalConfig(saved)

	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 100 {
				c := DefaultConfig()
				c.Producer.Retry.Max = i
				ReplaceGlobalConfig(c)
			}
		})
		wg.Go(func() {
			for range 100 {
				c := globalConfig()
				c.ClientID = "mine"
				assert.True(t, c.Producer.Retry.Max >= 0 && c.Producer.Retry.Max < 4 || c.Producer.Retry.Max == saved.Producer.Retry.Max)
			}
		})
	}
	wg.Wait()
}

// deliveryRule is a producer configuration that cannot be at-least-once and
// what its error must name: the setting and the fix.
type deliveryRule struct {
	name   string
	change func(*sarama.Config)
	names  []string
}

var deliveryRules = []deliveryRule{
	{"successes off", func(c *sarama.Config) { c.Producer.Return.Successes = false },
		[]string{"Producer.Return.Successes", "set both to true"}},
	{"errors off", func(c *sarama.Config) { c.Producer.Return.Errors = false },
		[]string{"Producer.Return.Errors", "set both to true"}},
	{"no response", func(c *sarama.Config) {
		c.Producer.Idempotent = false
		c.Producer.RequiredAcks = sarama.NoResponse
	}, []string{"Producer.RequiredAcks is NoResponse", "sarama.WaitForAll"}},
	{"idempotent with local acks", func(c *sarama.Config) { c.Producer.RequiredAcks = sarama.WaitForLocal },
		[]string{"Producer.Idempotent needs Producer.RequiredAcks = sarama.WaitForAll", "Producer.Idempotent = false"}},
	{"idempotent with requests in flight", func(c *sarama.Config) { c.Net.MaxOpenRequests = 5 },
		[]string{"Net.MaxOpenRequests = 1, not 5", "Producer.Idempotent = false"}},
	{"idempotent without retries", func(c *sarama.Config) { c.Producer.Retry.Max = 0 },
		[]string{"Producer.Retry.Max >= 1, not 0", "Producer.Idempotent = false"}},
	{"idempotent on an old version", func(c *sarama.Config) { c.Version = sarama.V0_10_2_0 },
		[]string{"Version >= sarama.V0_11_0_0", "Producer.Idempotent = false"}},
}

// unreachable is a broker address nothing listens on: a configuration must be
// refused before any connection is tried, with its own error rather than
// sarama's "out of brokers".
var unreachable = []string{"127.0.0.1:1"}

func requireDeliveryError(t *testing.T, err error, rule deliveryRule) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, errDelivery)
	for _, n := range rule.names {
		assert.Contains(t, err.Error(), n)
	}
}

func badConfig(rule deliveryRule) *sarama.Config {
	c := DefaultConfig()
	rule.change(c)
	return c
}

// withGlobalConfig replaces the global configuration for one test.
func withGlobalConfig(t *testing.T, c *sarama.Config) {
	saved := globalConfig()
	t.Cleanup(func() { ReplaceGlobalConfig(saved) })
	ReplaceGlobalConfig(c)
}

func deliveryGraph() *GroupGraph {
	return DefineGroup("delivery",
		Input("delivery-in", new(codec.String), func(ctx Context, msg interface{}) { ctx.SetValue(msg) }),
		Persist(new(codec.String)),
	)
}

func TestDeliveryConfigRefusedByNewProducer(t *testing.T) {
	for _, rule := range deliveryRules {
		t.Run(rule.name, func(t *testing.T) {
			_, err := NewProducer(unreachable, badConfig(rule))
			requireDeliveryError(t, err, rule)
		})
	}
}

func TestDeliveryConfigRefusedByNewEmitter(t *testing.T) {
	for _, rule := range deliveryRules {
		t.Run(rule.name+"/global", func(t *testing.T) {
			withGlobalConfig(t, badConfig(rule))
			_, err := NewEmitter(unreachable, "out", new(codec.String))
			requireDeliveryError(t, err, rule)
		})
		t.Run(rule.name+"/builder", func(t *testing.T) {
			_, err := NewEmitter(unreachable, "out", new(codec.String),
				WithEmitterProducerBuilder(ProducerBuilderWithConfig(badConfig(rule))))
			requireDeliveryError(t, err, rule)
		})
	}
}

func TestDeliveryConfigRefusedByNewProcessor(t *testing.T) {
	for _, rule := range deliveryRules {
		t.Run(rule.name, func(t *testing.T) {
			withGlobalConfig(t, badConfig(rule))
			_, err := NewProcessor(unreachable, deliveryGraph(), WithStorageBuilder(storage.MemoryBuilder()))
			requireDeliveryError(t, err, rule)
			assert.Contains(t, err.Error(), `processor "delivery"`)
		})
	}
}

// A processor is checked against the configuration its producer is built
// from: a builder's own configuration, not the global one. The builder hides
// its configuration, so the check runs when Run builds the producer, before
// the processor joins its group.
func TestDeliveryConfigOfProducerBuilderRefusedByRun(t *testing.T) {
	env := newProcEnv(t)
	env.createTopic("delivery-in", 2)
	for _, rule := range deliveryRules {
		t.Run(rule.name, func(t *testing.T) {
			proc, err := NewProcessor(env.brokers, deliveryGraph(),
				env.options(storage.MemoryBuilder(), WithProducerBuilder(ProducerBuilderWithConfig(badConfig(rule))))...)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = proc.Run(ctx)
			requireDeliveryError(t, err, rule)
			assert.NoError(t, ctx.Err(), "Run refused the configuration at once")
		})
	}
}

// A global configuration the processor does not use does not refuse it.
func TestDeliveryConfigGlobalIgnoredWithOwnProducerBuilder(t *testing.T) {
	env := newProcEnv(t)
	env.createTopic("delivery-in", 2)
	bad := DefaultConfig()
	bad.Producer.Idempotent = false
	bad.Producer.RequiredAcks = sarama.NoResponse
	withGlobalConfig(t, bad)
	_, err := NewProcessor(env.brokers, deliveryGraph(), env.options(storage.MemoryBuilder())...)
	require.NoError(t, err)
}

// Giving up idempotence, or all-replica acknowledgements, is the user's
// choice: it loses writes on a leader failover or lets retries reorder them,
// as DefaultConfig documents, but it is not refused.
func TestDeliveryConfigAccepted(t *testing.T) {
	accepted := map[string]func(*sarama.Config){
		"default": func(*sarama.Config) {},
		"no idempotence, local acks, requests in flight": func(c *sarama.Config) {
			c.Producer.Idempotent = false
			c.Producer.RequiredAcks = sarama.WaitForLocal
			c.Net.MaxOpenRequests = 5
		},
		"no idempotence, all acks, no retries": func(c *sarama.Config) {
			c.Producer.Idempotent = false
			c.Producer.Retry.Max = 0
		},
	}
	env := newProcEnv(t)
	env.createTopic("accepted", 1)
	for name, change := range accepted {
		t.Run(name, func(t *testing.T) {
			c := DefaultConfig()
			c.Producer.Flush.Frequency = 5 * time.Millisecond
			change(c)
			require.NoError(t, checkDeliveryConfig(c))
			em, err := NewEmitter(env.brokers, "accepted", new(codec.String),
				WithEmitterProducerBuilder(ProducerBuilderWithConfig(c)))
			require.NoError(t, err)
			require.NoError(t, em.EmitSync("k", name))
			require.NoError(t, em.Finish())
		})
	}
}
