package engine

import (
	"context"
	"time"
)

// Bounds of the retries of a partition's setup: its table restores and the
// check of its committed offsets. A broker answers NOT_LEADER_OR_FOLLOWER for
// a moment after it created a topic or loaded it after a restart (a first
// deployment hits that on every new group table), and for the seconds of a
// leader failover.
const (
	setupRetryStep    = 200 * time.Millisecond
	setupRetryMax     = 2 * time.Second
	setupRetryTimeout = 30 * time.Second
)

// retryAll takes every error for one worth retrying.
func retryAll(error) bool { return true }

// retrySetup calls f until it succeeds, fails with an error retriable does
// not accept, ctx ends or setupRetryTimeout passed, waiting a short, growing
// backoff in between; retrying hears of each error retried.
func retrySetup[T any](ctx context.Context, retriable func(error) bool, f func() (T, error), retrying func(error)) (T, error) {
	deadline := time.Now().Add(setupRetryTimeout)
	backoff := NewLinearBackoff(setupRetryStep, setupRetryMax)
	for {
		v, err := f()
		if err == nil || !retriable(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return v, err
		}
		retrying(err)
		wait := time.NewTimer(max(backoff.Duration(), setupRetryStep))
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return v, err
		}
	}
}
