package table

import (
	"context"
	"time"
)

// retryResetAfter is how long an attempt must have run before failing for
// Retry to reset the backoff: it was healthy, so the next failure is a new
// incident, not the same one again. goka uses the same minute. A variable
// only so that tests can shorten it.
var retryResetAfter = time.Minute

// defaultRetryWait is the wait when Retry gets no backoff function.
const defaultRetryWait = time.Second

// Retry runs op until it returns nil or an error that is not Retriable, or
// until ctx ends, waiting backoff() between attempts. It is the reconnect
// loop of views with auto-reconnect, joins and hot standby tables: Recover
// and Follow leave their partition in Connecting with the store readable
// after a Kafka error, so readers keep being served during the waits.
//
// onError, if not nil, is told about every error that is retried. reset, if
// not nil, is called before the wait when the failed attempt had run for at
// least a minute. A nil backoff waits one second.
//
// Retry returns nil once op succeeds, op's error when it is not retriable
// (which includes op's own report of a cancelled ctx), and ctx.Err() when
// ctx ends between attempts. It starts no goroutine. Closing the partition
// does not cut a wait short (the next attempt then fails with ErrClosed):
// cancel ctx to stop at once.
func Retry(ctx context.Context, op func(context.Context) error, backoff func() time.Duration, reset func(), onError func(error)) error {
	for {
		began := time.Now()
		err := op(ctx)
		if err == nil || !Retriable(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if onError != nil {
			onError(err)
		}
		if reset != nil && time.Since(began) >= retryResetAfter {
			reset()
		}
		wait := defaultRetryWait
		if backoff != nil {
			wait = backoff()
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}
