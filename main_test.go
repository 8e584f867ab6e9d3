package goka

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: every client,
// producer and broker a test starts must be closed and waited for.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sarama records metrics with go-metrics, whose first meter starts a
		// process-wide ticker that runs until the process exits by design.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
		// goleveldb's DB.Close does not wait for this goroutine: it drains the
		// memory pool for up to a second after Close and then ends.
		goleak.IgnoreTopFunction("github.com/syndtr/goleveldb/leveldb.(*DB).mpoolDrain"),
	)
}
