package goka

import (
	"context"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/require"
)

// A view whose context is cancelled before its stores are open stops
// gracefully: Run returns nil, as for a cancel at any later point.
func TestViewCancelledBeforeOpeningReturnsNil(t *testing.T) {
	env := newProcEnv(t)
	env.createTopic("slow-table", 2)
	v, err := NewView(env.brokers, "slow-table", new(strCodec), env.viewOptions(storage.MemoryBuilder())...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	select {
	case err := <-done:
		require.NoError(t, err, "a cancel is a graceful stop")
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}
