package table

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// A message keyed "__offset", where earlier versions kept the offset and
// with it the dirty marker, is data: written by a processor into a dirty
// store, it neither hides the marker (the unacknowledged writes would
// survive) nor stops the next start (a value that is no number).
func TestDirtyStoreWithAUserKeyOffset(t *testing.T) {
	for _, value := range []string{"29", "not a number", "-100"} {
		t.Run(value, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			onDisk := func(c *Config) { c.Builder = storage.DefaultBuilder(dir) }
			log := newFakeLog(testTopic, testPartition)
			want := fillLog(log, 30)
			log.addString("__offset", "from the topic")
			want["__offset"] = "from the topic"

			p := newPartition(t, log, nil, onDisk)
			require.NoError(t, p.Recover(ctx))
			require.Equal(t, want, contents(t, p.Storage()))
			_, err := p.MarkDirty()
			require.NoError(t, err)
			// The processor writes locally; the crash comes before Kafka
			// has the writes.
			require.NoError(t, p.Storage().Set("__offset", []byte(value)))
			require.NoError(t, p.Storage().Set("unacked", []byte("x")))
			require.NoError(t, p.Close())

			restarted := newPartition(t, log, nil, onDisk)
			require.NoError(t, restarted.Recover(ctx), "the store opens whatever the key holds")
			assert.Equal(t, want, contents(t, restarted.Storage()), "only what the topic holds survives")
			assert.Equal(t, []int64{0, 0}, log.startOffsets(), "the dirty store is rebuilt from the oldest offset")
		})
	}
}

// In a clean store, a key "__offset" holding the dirty marker's text does
// not make the next start throw the store away.
func TestCleanStoreWithAUserKeyOffset(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	onDisk := func(c *Config) { c.Builder = storage.DefaultBuilder(dir) }
	log := newFakeLog(testTopic, testPartition)
	want := fillLog(log, 30)
	log.addString("__offset", "-100")
	want["__offset"] = "-100"

	p := newPartition(t, log, nil, onDisk)
	require.NoError(t, p.Recover(ctx))
	require.NoError(t, p.Close())
	log.addString("new", "x")
	want["new"] = "x"

	restarted := newPartition(t, log, nil, onDisk)
	require.NoError(t, restarted.Recover(ctx))
	assert.Equal(t, want, contents(t, restarted.Storage()))
	assert.Equal(t, []int64{0, 31}, log.startOffsets(), "the clean store resumes after its offset")
}
