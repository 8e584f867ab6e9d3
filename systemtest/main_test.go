package systemtest_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seed-b2c684ed/goka/systemtest"
)

// TestMain fails the whole package at once when CI asked for a broker that is
// not there, removes the programs the tests built, and checks that no test
// leaves a goroutine behind.
func TestMain(m *testing.M) {
	if err := systemtest.CheckEnvironment(os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "\n*** FAIL: %v ***\n\n", err)
		os.Exit(1)
	}
	code := m.Run()
	removeCounterBinary()
	if code == 0 {
		if err := findLeaks(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// leakPatience is how long goroutines may take to end after the last test.
// goleveldb's DB.Close does not wait for its pool drainer, which ends up to
// a second later; waiting it out, rather than ignoring it, still catches a
// store that was never closed.
const leakPatience = 5 * time.Second

// findLeaks looks for leftover goroutines until none is left or
// leakPatience has passed.
func findLeaks() error {
	deadline := time.Now().Add(leakPatience)
	for {
		// sarama's metrics start a process-wide ticker that never ends, by
		// design.
		err := goleak.Find(goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}
