package goka

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
)

// TestExactlyOnceRefusesCooperativeRebalancing: NewProcessor refuses
// WithExactlyOnce beside WithCooperativeRebalancing with an error that says
// why and what to use instead (see errCooperativeExactlyOnce); each option
// alone is accepted.
func TestExactlyOnceRefusesCooperativeRebalancing(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)
	gg := DefineGroup("counter", Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	build := func(extra ...ProcessorOption) error {
		_, err := NewProcessor(env.brokers, gg, env.options(storage.MemoryBuilder(), extra...)...)
		return err
	}
	err := build(env.eosOptions(DefaultCommitInterval, WithCooperativeRebalancing())...)
	require.ErrorIs(t, err, errCooperative)
	assert.ErrorContains(t, err, "WithExactlyOnce")
	assert.ErrorContains(t, err, "eager protocol")
	assert.ErrorContains(t, err, `processor "counter"`)
	require.NoError(t, build(env.eosOptions(DefaultCommitInterval)...))
	require.NoError(t, build(WithCooperativeRebalancing()))
}
