package health

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The sentinels a check's error wraps, for errors.Is.
var (
	// ErrStopped: Run returned, or the emitter was finished. Liveness fails
	// with it only when Run returned an error: a Run that returned nil was
	// cancelled, which is how a program shuts down.
	ErrStopped = errors.New("health: stopped")
	// ErrNotRecovered: the component has not restored its tables yet, or
	// is between two sessions of its consumer group (a rebalance), or
	// reconnects.
	ErrNotRecovered = errors.New("health: not recovered")
	// ErrLagging: a partition is further behind its topic than the limit.
	// The error that wraps it is a *LagError.
	ErrLagging = errors.New("health: lagging")
	// ErrDuplicateCheck is wrapped by the Attach methods when the name is
	// taken.
	ErrDuplicateCheck = errors.New("health: check already attached")
)

// Checker is one component whose health a Server reports. Live returns nil
// while the component is alive, that is while restarting the program would
// not help it; Ready returns nil while it does its work now. A non-nil error
// says why, in words an operator reads in the probe's answer; an error that
// joins several (errors.Join) is shown as one line each.
//
// Both are called concurrently, from the requests' goroutines, and should
// return within a probe's timeout (a second by default in Kubernetes): ctx
// is the request's.
//
// The checks of this package are Checkers; so can be a supervisor that
// restarts a failed processor, which is live while it heals. A Checker
// written elsewhere is attached with Server.Attach.
type Checker interface {
	Live(ctx context.Context) error
	Ready(ctx context.Context) error
}

// CheckFuncs makes a Checker of two functions, for example a supervisor's
// liveness beside the readiness of the processor it runs. A nil function
// always passes.
type CheckFuncs struct {
	LiveFunc  func(ctx context.Context) error
	ReadyFunc func(ctx context.Context) error
}

// Live calls LiveFunc.
func (f CheckFuncs) Live(ctx context.Context) error {
	if f.LiveFunc == nil {
		return nil
	}
	return f.LiveFunc(ctx)
}

// Ready calls ReadyFunc.
func (f CheckFuncs) Ready(ctx context.Context) error {
	if f.ReadyFunc == nil {
		return nil
	}
	return f.ReadyFunc(ctx)
}

// DefaultMaxLag is the consumer lag, in messages, up to which a partition
// counts as caught up. It is a few seconds of a busy partition and hours of
// a quiet one: small enough that an instance still replaying a backlog is not
// ready, large enough that a burst does not take a healthy one out.
const DefaultMaxLag int64 = 1000

// CheckOption configures the check of a processor, view or emitter.
type CheckOption func(*checkConfig)

type checkConfig struct {
	name     string
	maxLag   int64
	maxDelay time.Duration
}

func newCheckConfig(name string, opts []CheckOption) checkConfig {
	c := checkConfig{name: name, maxLag: DefaultMaxLag}
	for _, opt := range opts {
		opt(&c)
	}
	return c
}

// WithName sets the name the check is reported under. The defaults are
// "processor <group>", "view <topic>" and "emitter"; two checks need two
// names, so a second emitter needs one.
func WithName(name string) CheckOption {
	return func(c *checkConfig) { c.name = name }
}

// WithMaxLag sets how many messages a partition may be behind its input,
// joined table or lookup table and still be ready; DefaultMaxLag by default.
// A negative n turns the limit off.
func WithMaxLag(n int64) CheckOption {
	return func(c *checkConfig) { c.maxLag = n }
}

// WithMaxDelay makes a processor's partition that has messages waiting
// unready when the last message it took from an input is older than d (by
// the message's timestamp), however few are waiting: a limit in time for
// inputs whose rate varies. It is off (0) by default, since the timestamps
// are the producers' clocks; a partition with nothing waiting is never late.
// Tables report no timestamps, so d applies to inputs only.
func WithMaxDelay(d time.Duration) CheckOption {
	return func(c *checkConfig) { c.maxDelay = d }
}

// LagError reports a partition further behind its topic than the limit.
type LagError struct {
	// What is behind: "input", "joined table" or "lookup table" for a
	// processor, "table" for a view.
	Kind      string
	Topic     string
	Partition int32
	// Lag is the number of messages waiting; Delay the age of the last one
	// taken, zero when unknown.
	Lag      int64
	Delay    time.Duration
	MaxLag   int64
	MaxDelay time.Duration
}

func (e *LagError) Error() string {
	msg := fmt.Sprintf("partition %d: %s %s lags %s", e.Partition, e.Kind, e.Topic, messages(e.Lag))
	if e.MaxLag >= 0 && e.Lag > e.MaxLag {
		return fmt.Sprintf("%s (limit %d)", msg, e.MaxLag)
	}
	return fmt.Sprintf("%s, the last taken %s old (limit %s)", msg, e.Delay.Round(time.Millisecond), e.MaxDelay)
}

// Unwrap makes errors.Is(err, ErrLagging) hold.
func (e *LagError) Unwrap() error { return ErrLagging }

// lagging returns a *LagError when lag or delay are over the limits of c.
func (c checkConfig) lagging(kind, topic string, partition int32, lag int64, delay time.Duration) error {
	overLag := c.maxLag >= 0 && lag > c.maxLag
	late := c.maxDelay > 0 && lag > 0 && delay > c.maxDelay
	if !overLag && !late {
		return nil
	}
	return &LagError{Kind: kind, Topic: topic, Partition: partition, Lag: lag, Delay: delay, MaxLag: c.maxLag, MaxDelay: c.maxDelay}
}

// stopped is the readiness error of a component whose Run returned err.
func stopped(err error) error {
	if err != nil {
		return fmt.Errorf("%w: Run returned: %w", ErrStopped, err)
	}
	return fmt.Errorf("%w: Run returned", ErrStopped)
}
