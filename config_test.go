package goka

import (
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
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
	assert.Equal(t, 10, c.Producer.Retry.Max)

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
