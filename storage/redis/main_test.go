package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/seed-b2c684ed/goka/storage/redis/redistest"
)

// The package's tests share one redis-server, started by TestMain and
// stopped after the last test; each test works in hashes of its own.
var (
	server *redistest.Server
	// skipReason is set when redis-server is not installed and the tests
	// are allowed to skip (REQUIRE_REDIS is not 1).
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	srv, err := redistest.Start(ctx)
	cancel()
	switch {
	case errors.Is(err, redistest.ErrNotInstalled) && os.Getenv("REQUIRE_REDIS") != "1":
		skipReason = "SKIPPING the Redis storage tests: redis-server is not installed. " +
			"Run scripts/redis.sh install (set REQUIRE_REDIS=1 to fail instead)."
		banner := strings.Repeat("!", 78)
		fmt.Fprintf(os.Stderr, "%s\n%s\n%s\n", banner, skipReason, banner)
		return m.Run()
	case err != nil:
		fmt.Fprintf(os.Stderr, "storage/redis tests: %v\n", err)
		return 1
	}
	server = srv
	code := m.Run()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "storage/redis tests: %v\n", err)
		code = max(code, 1)
	}
	// Every test closes its clients; a goroutine left now is a leak.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "storage/redis tests: %v\n", err)
			code = 1
		}
	}
	return code
}

// newClient returns a client of the test server, closed when the test ends,
// and skips the test when there is no server.
func newClient(t *testing.T) *redis.Client {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	client := redis.NewClient(&redis.Options{Addr: server.Addr()})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// useHashes deletes hashes now and when the test ends, so that a test finds
// them empty however often it runs against the shared server.
func useHashes(t *testing.T, client *redis.Client, hashes ...string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, client.Del(ctx, hashes...).Err())
	t.Cleanup(func() { assert.NoError(t, client.Del(ctx, hashes...).Err()) })
}
