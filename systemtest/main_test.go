package systemtest_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-b2c684ed/goka/systemtest"
)

// TestMain fails the whole package at once when CI asked for a broker that is
// not there, and checks that no test leaves a client's goroutine behind.
func TestMain(m *testing.M) {
	if err := systemtest.CheckEnvironment(os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "\n*** FAIL: %v ***\n\n", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m,
		// sarama's metrics start a process-wide ticker that never ends, by design.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	)
}
