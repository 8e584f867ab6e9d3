package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/seed-b2c684ed/goka/kafkatest"
)

// runParent starts the embedded broker unless -brokers names one, runs the
// selected workloads one after the other (each in a child process unless
// -fork=false), prints the table as rows arrive and writes the JSON file.
func runParent(ctx context.Context, opts *options, out io.Writer) error {
	started := time.Now()
	if opts.runID == "" {
		opts.runID = started.Format("20060102-150405")
	}
	rep := &report{
		Started: started, Forked: opts.fork, Host: currentHost(), Sizes: opts.sizes,
		Flags: opts.passOn, Flush: benchConfig(opts.flush).Producer.Flush.Frequency.String(),
	}
	brokers := opts.brokers
	rep.Broker = strings.Join(brokers, ",")
	if len(brokers) == 0 {
		cluster, err := kafkatest.NewCluster()
		if err != nil {
			return fmt.Errorf("starting the embedded broker: %w", err)
		}
		defer cluster.Close()
		brokers = cluster.Addrs()
		rep.Broker = "embedded"
	}

	fmt.Fprintf(out, "broker %s, %d CPUs, %s, producer flush every %s, best of %d runs, sizes %+v\n\n",
		rep.Broker, rep.Host.CPUs, rep.Host.Go, rep.Flush, opts.runs, opts.sizes)
	printHeader(out)
	for _, name := range allWorkloads {
		if !slices.Contains(opts.only, name) || ctx.Err() != nil {
			continue
		}
		var rows []result
		workloadStart := time.Now()
		if opts.fork {
			rows = runForked(ctx, opts, brokers, name)
		} else {
			rows = runWorkload(ctx, opts, brokers, name)
		}
		for _, r := range rows {
			printResult(out, r)
			if r.Err != "" {
				rep.Failures++
			}
		}
		rep.Results = append(rep.Results, rows...)
		rep.Walls = append(rep.Walls, wall{Workload: name, Seconds: time.Since(workloadStart).Seconds()})
	}
	rep.Seconds = time.Since(started).Seconds()
	printWalls(out, rep.Walls)
	if !opts.fork {
		fmt.Fprintln(out, "\n(-fork=false: peak RSS includes the embedded broker and earlier workloads' leftovers)")
	}

	if opts.jsonPath != "-" {
		path := opts.jsonPath
		if path == "" {
			path = filepath.Join(resultsDir(), started.Format("20060102-150405")+".json")
		}
		if err := writeJSON(path, rep); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nresults written to %s\n", path)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if rep.Failures > 0 {
		return fmt.Errorf("%d workload(s) failed", rep.Failures)
	}
	return nil
}

// runForked runs one workload in a child process: this same binary with
// -child, the parent's flags and the broker addresses. A child that
// crashes, hangs past -timeout or writes no results gives a failed row.
func runForked(ctx context.Context, opts *options, brokers []string, name string) []result {
	fail := func(err error) []result { return []result{{Name: name, Err: err.Error()}} }
	exe, err := os.Executable()
	if err != nil {
		return fail(fmt.Errorf("finding this program: %w", err))
	}
	args := append([]string{"-child", "-only=" + name, "-brokers=" + strings.Join(brokers, ","), "-runid=" + opts.runID}, opts.passOn...)
	// The child has its own -timeout; this one catches a child that
	// ignores it.
	ctx, cancel := context.WithTimeout(ctx, opts.timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopTimeout
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fail(fmt.Errorf("child process: %w", err))
	}
	var rows []result
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		return fail(fmt.Errorf("reading the child's results: %w", err))
	}
	return rows
}

// resultsDir is bench/results of the module the command runs in, found from
// the working directory up, so that runs from the repository root and from
// bench/ land in the same place; bench/results of the working directory
// outside a module.
func resultsDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("bench", "results")
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "bench", "results")
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(wd, "bench", "results")
		}
	}
}
