package goka

import (
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcessorCountsExactly(t *testing.T) {
	env := newProcEnv(t)
	env.createTopic("clicks", 4)
	const keys, perKey = 50, 20

	em := env.emitter("clicks", new(codec.String))
	for i := 0; i < perKey; i++ {
		for k := 0; k < keys; k++ {
			_, err := em.Emit(keyOf(k), "click")
			require.NoError(t, err)
		}
	}
	require.NoError(t, em.Finish())

	gg := DefineGroup("counter", Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	proc, err := NewProcessor(env.brokers, gg, env.options(storage.MemoryBuilder())...)
	require.NoError(t, err)
	r := env.start(proc)

	eventually(t, "every key counted", func() bool {
		for k := 0; k < keys; k++ {
			v, err := proc.Get(keyOf(k))
			if err != nil || v == nil || v.(int64) != perKey {
				return false
			}
		}
		return true
	})
	assert.True(t, proc.Recovered())
	require.NoError(t, r.stop(t))
	assert.ErrorIs(t, proc.Run(t.Context()), ErrProcessorAlreadyRun)
}
