package main

import (
	"context"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the tests if a processor, view or emitter is left running:
// every test stops what it started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stopTimeout bounds how long a test waits for a processor to stop.
const stopTimeout = 10 * time.Second

// runProcessor builds a processor for gg on the tester and runs it until the
// test ends. It returns a channel that receives what Run returned; a test
// that expects the processor to fail reads it, and if nobody does, an error
// there fails the test when it ends.
//
// Run must be running before the tester is used: Consume, TableValue and the
// others wait until every processor registered with the tester has started.
func runProcessor(t *testing.T, tt *tester.Tester, gg *goka.GroupGraph) <-chan error {
	t.Helper()
	proc, err := goka.NewProcessor(nil, gg, goka.WithTester(tt))
	require.NoError(t, err)
	return run(t, string(gg.Group()), proc.Run)
}

// run calls runFunc in a goroutine and, when the test ends, cancels it and
// waits for it to return.
func run(t *testing.T, name string, runFunc func(context.Context) error) <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	returned := make(chan struct{})
	go func() {
		errs <- runFunc(ctx)
		close(returned)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-returned:
		case <-time.After(stopTimeout):
			t.Errorf("%s: Run did not return within %v of being cancelled", name, stopTimeout)
			return
		}
		select {
		case err := <-errs:
			if err != nil {
				t.Errorf("%s: Run failed: %v", name, err)
			}
		default: // the test took the error itself
		}
	})
	return errs
}

// runError waits for the processor behind errs to stop by itself and returns
// its error.
func runError(t *testing.T, errs <-chan error) error {
	t.Helper()
	select {
	case err := <-errs:
		return err
	case <-time.After(stopTimeout):
		t.Fatalf("the processor did not stop within %v", stopTimeout)
		return nil
	}
}
