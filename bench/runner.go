package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"
)

// workload runs one workload against a broker and returns its rows.
type workload func(ctx context.Context, e *env) ([]result, error)

var workloads = map[string]workload{
	"emitter":                        emitterWorkload,
	"processor":                      processorWorkload,
	"processor-exactly-once":         processorExactlyOnceWorkload,
	"processor-latency-exactly-once": processorLatencyExactlyOnceWorkload,
	"recovery":                       recoveryWorkload,
	"view-reads":                     viewReadsWorkload,
	"tester":                         testerWorkload,
	"recovery-1m":                    recovery1MWorkload,
	"durability":                     durabilityWorkload,

	"view-freshness":    viewFreshnessWorkload,
	"processor-latency": processorLatencyWorkload,
	"many-partitions":   manyPartitionsWorkload,
}

// runChild runs the selected workloads in this process, against the brokers
// the parent passed, and writes their rows as one JSON array to out.
func runChild(ctx context.Context, opts *options, out io.Writer) error {
	if len(opts.brokers) == 0 {
		return errors.New("-child needs -brokers")
	}
	var results []result
	for _, name := range opts.only {
		results = append(results, runWorkload(ctx, opts, opts.brokers, name)...)
	}
	if err := json.NewEncoder(out).Encode(results); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

// runWorkload runs one workload in this process with its own env and
// timeout; a failure, a panic included, becomes a row with Err set.
func runWorkload(ctx context.Context, opts *options, brokers []string, name string) (results []result) {
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	fail := func(err error) []result {
		return []result{{Name: name, Err: err.Error()}}
	}
	e, err := newEnv(opts, brokers)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err := e.close(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: cleaning up: %v\n", name, err)
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			results = fail(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
		}
	}()
	results, err = workloads[name](ctx, e)
	if err != nil {
		return fail(err)
	}
	return results
}

// stopTimeout bounds how long a stopped processor or view may take to
// return from Run.
const stopTimeout = time.Minute

// background is a processor's or a view's Run in a goroutine of its own.
type background struct {
	cancel context.CancelFunc
	done   chan error
}

func runInBackground(ctx context.Context, run func(context.Context) error) *background {
	ctx, cancel := context.WithCancel(ctx)
	b := &background{cancel: cancel, done: make(chan error, 1)}
	go func() { b.done <- run(ctx) }()
	return b
}

// stop cancels Run and returns what it returned.
func (b *background) stop() error {
	b.cancel()
	select {
	case err := <-b.done:
		return err
	case <-time.After(stopTimeout):
		return fmt.Errorf("run did not return within %s of being cancelled", stopTimeout)
	}
}

// await waits for ready, failing when Run ends first or ctx is done.
func (b *background) await(ctx context.Context, ready <-chan struct{}, what string) error {
	select {
	case <-ready:
		return nil
	case err := <-b.done:
		b.done <- err // for stop
		return fmt.Errorf("run ended before %s: %w", what, errOrStopped(err))
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	}
}

// waitUntil waits until t, failing early when Run ends or ctx is done.
func (b *background) waitUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case err := <-b.done:
		b.done <- err // for stop
		return fmt.Errorf("run ended early: %w", errOrStopped(err))
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errStoppedEarly = errors.New("stopped without error")

func errOrStopped(err error) error {
	if err == nil {
		return errStoppedEarly
	}
	return err
}

// tempDir makes a directory for local stores; the returned func removes it.
func tempDir(what string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "goka-bench-"+what+"-")
	if err != nil {
		return "", nil, fmt.Errorf("creating a temp dir: %w", err)
	}
	return dir, func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(os.Stderr, "bench: removing %s: %v\n", dir, err)
		}
	}, nil
}
