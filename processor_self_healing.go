package goka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/copartition"
	"github.com/seed-b2c684ed/goka/internal/engine"
)

// RestartPolicy says how a processor with WithRestartOnError restarts after
// a failure and when it gives up. The zero value gives the defaults.
type RestartPolicy struct {
	// Backoff spaces the restarts: the wait before each is its next
	// Duration. An attempt that ran for WithBackoffResetTimeout (one minute
	// by default) resets it. Give each processor a Backoff of its own. Default: NewSimpleBackoff(5 s, 1 min), so the
	// first restart is immediate, the next ones wait 5 s, 10 s, ... up to
	// a minute.
	Backoff Backoff
	// MaxRestarts is how many restarts Window may hold: the failure that
	// would be one more ends Run with ErrTooManyRestarts and the error.
	// Default (0): 10. Negative: no bound.
	MaxRestarts int
	// Window is the sliding time span MaxRestarts counts in. Default: ten
	// minutes.
	Window time.Duration
}

// The defaults of RestartPolicy. Ten restarts in ten minutes wait 3 min 45 s
// in all, so they ride through a broker outage of about four minutes (more:
// an attempt that gets to join the group retries it for the group retry
// timeout first) and through a handful of transient message failures, while
// a processor that keeps failing ends within minutes and the orchestrator's
// restart and alerts take over.
const (
	defaultRestartStep = 5 * time.Second
	defaultRestartMax  = time.Minute
	defaultMaxRestarts = 10
	defaultWindow      = 10 * time.Minute
)

// ErrTooManyRestarts is what Run's error wraps, beside the last failure,
// when a processor with WithRestartOnError gave up: RestartPolicy.MaxRestarts
// restarts within RestartPolicy.Window did not heal it.
var ErrTooManyRestarts = errors.New("too many restarts")

// WithRestartOnError makes Run heal the processor after a failure instead of
// returning it: a failed partition (a *MessageError under the stop policy, a
// refused write, a local storage error), a consumer group that failed past
// the group retry timeout (a broker outage) or clients that cannot be built
// (no broker reachable at startup) end the current run of the processor,
// which is then started again after the policy's backoff: it rejoins the
// group and processes from the committed offsets, so the message that
// failed is processed again. Run returns only when its context is
// cancelled (nil), on a permanent error (see IsPermanent), or with
// ErrTooManyRestarts once the policy's bound is reached.
//
// What a restart keeps: the processor itself (Get, Stats, VisitAll and the
// state keep working on the same handle; Get fails for the partitions of a
// restarting processor), its clients, the lookup views (which reconnect by
// themselves, see WithViewAutoReconnect: each attempt waits for them, so
// during an outage a processor with lookups waits in ProcStateStarting for
// them to be back rather than restart again), and its local tables: a
// partition whose store was stopped cleanly restores only what was written
// since, nothing when nothing was; a store the failure left marked dirty
// (writes Kafka did not acknowledge, a callback that outlived the stop
// deadline) is rebuilt from the topic, as at any start. What it renews: the
// consumer group and the partitions. As after any restart, a message whose
// writes Kafka acknowledged but whose offset the failure kept from being
// committed is processed again (at least once).
//
// Each restart is reported in the log with its cause, by the metric
// goka_processor_restarts_total (see WithMetrics), and by the processor's
// state, which passes through ProcStateRestarting while the restart waits
// for its backoff and then starts over at ProcStateStarting.
//
// Why an option rather than a supervisor around Run: a processor runs once
// and its stores, state and metrics belong to it, so a supervisor would
// have to build a new processor for each restart, reopening every store and
// handing callers of Get and Stats a new handle; the option restarts only
// what a failure may have broken.
func WithRestartOnError(policy RestartPolicy) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		// A copy per processor: the option may build several, each
		// with a default backoff of its own.
		policy := policy
		if policy.Backoff == nil {
			policy.Backoff = NewSimpleBackoff(defaultRestartStep, defaultRestartMax)
		}
		if policy.MaxRestarts == 0 {
			policy.MaxRestarts = defaultMaxRestarts
		}
		if policy.Window <= 0 {
			policy.Window = defaultWindow
		}
		o.restart = &policy
	}
}

// permanentError marks an error that a restart cannot heal.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: a processor with WithRestartOnError that
// fails with it (or an error wrapping it) does not restart, and Run returns
// it. A callback passes one to Context.Fail when it knows that processing
// the message again cannot succeed and the processor must not go on, for
// example a message that breaks an invariant. The text and errors.Is/As see
// through the mark. Under an error policy that skips, retries or
// dead-letters, a permanent error is treated like any other failure of the
// message. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err ends a processor with WithRestartOnError
// instead of restarting it:
//
//   - an error marked with Permanent;
//   - context.Canceled and context.DeadlineExceeded outside a
//     *MessageError: a context of the caller's ended (Run's own ends Run
//     anyway). In a message's error they are transient: a callback whose
//     call to another service timed out, or whose Context ended with its
//     partition's stop, processes the message again after the restart;
//   - a misconfiguration a restart finds again: ErrTableNotCompacted,
//     ErrForeignPartitioner (the inputs' producers use another
//     partitioner), topics that are not co-partitioned, an invalid static
//     membership configuration, a sarama.ConfigurationError, and Kafka's
//     authorization and authentication refusals;
//   - a fenced instance: sarama.ErrFencedInstancedId (another instance runs
//     with the same WithGroupInstanceID), sarama.ErrProducerFenced and
//     sarama.ErrInvalidProducerEpoch (another producer took over the
//     transactional id);
//   - the failure of a lookup table's view, which reconnects by itself and
//     fails only for one of the reasons above.
//
// Everything else is transient: Kafka unreachable or failing over, a message
// whose callback failed, a write Kafka refused, a local storage error.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.As(err, new(permanentError)) || errors.As(err, new(sarama.ConfigurationError)) {
		return true
	}
	if !errors.As(err, new(*MessageError)) && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return true
	}
	for _, target := range permanentErrors {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// permanentErrors are the errors IsPermanent finds in a chain.
var permanentErrors = []error{
	ErrTableNotCompacted,
	ErrForeignPartitioner,
	errGroupInstanceID,
	copartition.ErrNotCopartitioned,
	copartition.ErrPartitionGap,
	copartition.ErrInconsistentTopics,
	sarama.ErrFencedInstancedId,
	ErrFenced,
	sarama.ErrProducerFenced,
	sarama.ErrInvalidProducerEpoch,
	sarama.ErrTransactionalIDAuthorizationFailed,
	sarama.ErrTopicAuthorizationFailed,
	sarama.ErrGroupAuthorizationFailed,
	sarama.ErrClusterAuthorizationFailed,
	sarama.ErrSASLAuthenticationFailed,
}

// supervise runs the processor one attempt after the other, as the restart
// policy allows, until ctx is cancelled, an attempt fails permanently, or
// the policy gives up; it returns what Run returns.
func (p *Processor) supervise(ctx context.Context) error {
	policy := p.opts.restart
	var restarts []time.Time // within the window, oldest first
	total := 0
	for {
		began := time.Now()
		err := p.takeAttemptErr(p.runAttempt(ctx))
		switch {
		case ctx.Err() != nil:
			// Cancelled: a failure before the cancel is still reported,
			// as without restarts.
			return err
		case err == nil:
			// An attempt ends without error only when ctx does.
			return nil
		case IsPermanent(err):
			p.log.Printf("not restarting after a permanent error: %v", err)
			return err
		}
		now := time.Now()
		for len(restarts) > 0 && now.Sub(restarts[0]) >= policy.Window {
			restarts = restarts[1:]
		}
		if policy.MaxRestarts >= 0 && len(restarts) >= policy.MaxRestarts {
			p.log.Printf("giving up after %d restarts within %s: %v", len(restarts), policy.Window, err)
			return fmt.Errorf("processor %q: %w (%d within %s), the last failure: %w",
				p.graph.Group(), ErrTooManyRestarts, len(restarts), policy.Window, err)
		}
		if now.Sub(began) >= p.opts.backoffResetTime {
			policy.Backoff.Reset()
		}
		wait := policy.Backoff.Duration()
		restarts = append(restarts, now)
		total++
		p.metrics.Restarted()
		p.state.SetState(ProcStateRestarting)
		p.log.Printf("restarting in %s (restart %d, %d within %s) after: %v", wait, total, len(restarts), policy.Window, err)
		if !sleepCtx(ctx, wait) {
			return nil
		}
	}
}

// runAttempt runs the processor once: it builds the clients if they are not
// yet, waits for the lookups, recovers ahead, and consumes until ctx is
// cancelled or a failure (reported to fail) ends the attempt. Run calls it
// once, or supervise once per attempt; the clients, stores and lookups it
// uses are Run's.
func (p *Processor) runAttempt(ctx context.Context) error {
	ctx, abort := context.WithCancel(ctx)
	defer abort()
	p.errMu.Lock()
	attempt := p.attempt
	p.abort = abort
	p.errMu.Unlock()
	p.state.SetState(ProcStateStarting)

	if p.producer == nil {
		if err := p.connect(); err != nil {
			return err
		}
	}
	cfg := p.engineConfig()
	cfg.OnFail = func(err error) { p.failAttempt(attempt, err) }
	// A transaction lives no longer than its attempt: a restart aborts the
	// one left open and begins anew.
	txn, err := p.newTransactor(cfg.OnFail)
	if err != nil {
		return err
	}
	cfg.Txn = txn
	defer p.runTransactor(ctx, txn)()
	group := engine.NewGroup(cfg, p.state)
	p.group.Store(group)

	if p.waitForLookups(ctx); ctx.Err() != nil {
		return nil
	}
	if p.opts.recoverAhead {
		// Errors of a cancelled recovery are the cancel's consequence: a
		// failure that cancelled it was recorded by fail.
		if err := group.RecoverAhead(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return p.consume(ctx, group)
}

// takeAttemptErr returns the failure of an attempt that ended with err: the
// first failure recorded by fail, joined with err when that is another, as
// Run reports them, and forgets the recorded one for the next attempt. From
// now on, failures of the attempt's partitions are late (see failAttempt).
func (p *Processor) takeAttemptErr(err error) error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	p.attempt++
	errs := p.errs
	p.errs = nil
	if err != nil {
		errs = append(errs, err)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// failAttempt is fail for the partitions of attempt n: a failure reported
// after the attempt ended (a write refused while its partition stopped, a
// callback that outlived the stop deadline) belongs to the attempt that
// failed already and must not end the next one.
func (p *Processor) failAttempt(n uint64, err error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if n != p.attempt {
		p.log.Printf("dropping a late error of an earlier run (the processor restarted since): %v", err)
		return
	}
	p.failLocked(err)
}

// withViewAutoReconnectIf is WithViewAutoReconnect when on, else nothing.
func withViewAutoReconnectIf(on bool) ViewOption {
	return func(o *voptions, table Table, codec Codec) {
		if on {
			o.autoreconnect = true
		}
	}
}

// sleepCtx waits for d or the end of ctx, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitReadyHealing is WaitForReadyContext for a processor with
// WithRestartOnError: a failure on the way to readiness is being healed, so
// it waits for the run after it instead of returning the failure; it
// returns Run's error only once Run has returned.
func (p *Processor) waitReadyHealing(ctx context.Context) error {
	wait := func(ch <-chan struct{}) (bool, error) {
		select {
		case <-ch:
			return true, nil
		case <-p.done:
			return false, p.Error()
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	for {
		if ok, err := wait(p.state.WaitForState(ProcStateRunning)); !ok {
			return err
		}
		for _, pp := range p.partitions() {
			if ok, err := wait(pp.State().WaitForStateMin(PPStateRunning)); !ok {
				return err
			}
		}
		failed := p.firstErr() != nil
		if !failed && p.state.IsState(ProcStateRunning) {
			return nil
		}
		if failed {
			// The run fails but may not have left Running yet: wait
			// until it has, not to spin on Running.
			if ok, err := wait(p.state.WaitForStateMin(ProcStateStopping)); !ok {
				return err
			}
		}
	}
}
