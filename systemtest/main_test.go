package systemtest_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/seed-b2c684ed/goka/systemtest"
)

// TestMain fails the whole package at once when CI asked for a broker that is
// not there, removes the programs the tests built, and checks that no test
// leaves a client's goroutine behind.
func TestMain(m *testing.M) {
	if err := systemtest.CheckEnvironment(os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "\n*** FAIL: %v ***\n\n", err)
		os.Exit(1)
	}
	code := m.Run()
	removeCounterBinary()
	if code == 0 {
		// sarama's metrics start a process-wide ticker that never ends, by design.
		if err := goleak.Find(goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
