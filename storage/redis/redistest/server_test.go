package redistest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needBinary skips the test when redis-server is missing, unless
// REQUIRE_REDIS=1 makes that a failure.
func needBinary(t *testing.T) {
	t.Helper()
	_, err := Binary()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("REQUIRE_REDIS") != "1" {
		t.Skipf("SKIPPING: %v (set REQUIRE_REDIS=1 to fail instead)", err)
	}
	require.NoError(t, err)
}

func TestStartAndClose(t *testing.T) {
	needBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	first, err := Start(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Close() })
	second, err := Start(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Close() })
	assert.NotEqual(t, first.Addr(), second.Addr(), "each server has a port of its own")

	require.NoError(t, first.ping(ctx))
	require.NoError(t, first.Close())
	select {
	case <-first.exited:
	default:
		t.Fatal("Close returned before the server ended")
	}
	_, err = os.Stat(first.dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "Close removes the server's directory")
	assert.Error(t, first.ping(ctx), "the port is closed")
	assert.NoError(t, first.Close(), "Close is idempotent")

	require.NoError(t, second.ping(ctx), "stopping one server leaves the other running")
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("REDIS_SERVER", "redis-server-that-does-not-exist")
	_, err := Start(context.Background())
	assert.ErrorIs(t, err, ErrNotInstalled)
	assert.ErrorContains(t, err, "scripts/redis.sh install")
}

func TestServerThatExits(t *testing.T) {
	// /bin/false stands for a redis-server that fails at start: Start must
	// report its exit instead of waiting for it to answer.
	t.Setenv("REDIS_SERVER", "false")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Start(ctx)
	require.Error(t, err)
	assert.ErrorContains(t, err, "exited")
	assert.NoError(t, ctx.Err(), "Start gave up on the exit, not on the deadline")
}
