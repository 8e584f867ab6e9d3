package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/seed-b2c684ed/goka"
)

// errCommitWithheld releases, at shutdown, the commits a -no-commit forwarder
// never released: a processor cannot stop cleanly while they are held.
var errCommitWithheld = errors.New("commit withheld by -no-commit")

// forwarder is the processor's callback. It sends every message on through an
// Emitter of its own, not through ctx.Emit, as a callback does when it writes
// to another cluster or a system that is not Kafka at all. The processor knows
// nothing of that write, so by default it would commit the message as soon
// as the callback returns, even if the write then failed: the message would
// be lost. DeferCommit closes that gap.
type forwarder struct {
	out      *goka.Emitter
	noCommit bool
	seen     *record // values whose forward Kafka acknowledged

	mu       sync.Mutex
	held     []func(error) // -no-commit: the commits never released
	stopping bool          // -no-commit: release, with an error, what is acknowledged from now on
}

func newForwarder(out *goka.Emitter, noCommit bool) *forwarder {
	return &forwarder{out: out, noCommit: noCommit, seen: newRecord()}
}

// forward sends msg to the output. DeferCommit holds the message's commit
// until commit is called: with nil once the output acknowledged the write,
// with the error if it failed, which stops the processor without committing
// the message, so it is read again after a restart.
func (f *forwarder) forward(ctx goka.Context, msg interface{}) {
	commit := ctx.DeferCommit()
	value := msg.(string)
	promise, err := f.out.Emit(ctx.Key(), value)
	if err != nil {
		commit(fmt.Errorf("forwarding %s: %w", value, err))
		return
	}
	promise.Then(func(err error) {
		if err == nil {
			f.seen.add(value)
		}
		if f.noCommit && err == nil {
			// The bug this mode shows: the callback forgets to release
			// the commit, so the message is forwarded but never marked
			// as consumed.
			f.mu.Lock()
			stopping := f.stopping
			if !stopping {
				f.held = append(f.held, commit)
			}
			f.mu.Unlock()
			fmt.Printf("  forwarded %s, commit held back\n", value)
			if stopping {
				commit(errCommitWithheld)
			}
			return
		}
		if err == nil {
			fmt.Printf("  forwarded %s, commit released\n", value)
		}
		commit(err)
	})
}

// releaseHeld fails every commit held so far and every one acknowledged
// from now on, which lets a stopping processor end at once instead of
// waiting for them until its stop timeout. It returns how many were held.
func (f *forwarder) releaseHeld() int {
	f.mu.Lock()
	held := f.held
	f.held = nil
	f.stopping = true
	f.mu.Unlock()
	for _, commit := range held {
		commit(errCommitWithheld)
	}
	return len(held)
}

// record is a list of values that goroutines add to and others wait on.
type record struct {
	mu      sync.Mutex
	values  []string
	changed chan struct{} // closed and replaced at every add
}

func newRecord() *record { return &record{changed: make(chan struct{})} }

func (r *record) add(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, v)
	close(r.changed)
	r.changed = make(chan struct{})
}

// snapshot returns the values added so far.
func (r *record) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.values...)
}

// waitFor returns once done holds for the values, or ctx's error.
func (r *record) waitFor(ctx context.Context, done func([]string) bool) error {
	for {
		r.mu.Lock()
		ok := done(r.values)
		changed := r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
