package goka

import (
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProcessorCountsExactly counts thousands of messages of hundreds of
// keys over eight partitions: every key must end at exactly its count, and
// the group must have committed every input offset.
func TestProcessorCountsExactly(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys, perKey = 8, 200, 25
	env.createTopic("clicks", partitions)
	env.emitCounts("clicks", keys, perKey, "click")

	gg := DefineGroup("counter", Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	proc := env.processor(gg, storage.MemoryBuilder())
	r := env.start(proc)

	want := uniformCounts(keys, perKey)
	eventually(t, "every key counted", func() bool { return hasCounts(proc, want) })
	assert.True(t, proc.Recovered())

	var inputs uint
	for _, s := range proc.Stats().Group {
		inputs += s.Input["clicks"].Count
	}
	assert.Equal(t, uint(keys*perKey), inputs, "each message is processed once")

	require.NoError(t, r.stop(t))
	var committed int64
	for p := int32(0); p < partitions; p++ {
		committed += env.committed("counter", "clicks", p)
	}
	assert.Equal(t, int64(keys*perKey), committed, "every offset committed on shutdown")
	assert.False(t, hasCounts(proc, want), "the partitions are released after Run")
}

func TestProcessorRunTwice(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)
	gg := DefineGroup("counter", Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	proc := env.processor(gg, storage.MemoryBuilder())
	r := env.startReady(proc)

	assert.ErrorIs(t, proc.Run(t.Context()), ErrProcessorAlreadyRun, "while running")
	require.NoError(t, r.stop(t))
	assert.ErrorIs(t, proc.Run(t.Context()), ErrProcessorAlreadyRun, "after Run returned")
	<-proc.Done()
	assert.NoError(t, proc.Error())
}

func TestProcessorGet(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 4)
	env.emitCounts("clicks", 10, 3, "click")

	gg := DefineGroup("counter", Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
	proc := env.processor(gg, storage.MemoryBuilder())

	_, err := proc.Get(keyOf(0))
	require.Error(t, err, "before Run no partition is held")
	assert.Contains(t, err.Error(), "does not contain partition")

	r := env.startReady(proc)
	eventually(t, "every key counted", func() bool { return hasCounts(proc, uniformCounts(10, 3)) })
	v, err := proc.Get("never-seen")
	require.NoError(t, err)
	assert.Nil(t, v, "a missing key is nil without error")
	require.NoError(t, r.stop(t))

	_, err = proc.Get(keyOf(0))
	require.Error(t, err, "after Run no partition is held")

	stateless := DefineGroup("stateless", Input("clicks", new(codec.String), func(Context, interface{}) {}))
	sp := env.processor(stateless, storage.MemoryBuilder())
	_, err = sp.Get(keyOf(0))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stateless")
}
