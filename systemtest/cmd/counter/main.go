// Command counter is the processor instance the system tests start as a
// separate OS process, several at a time, and stop with SIGTERM or kill with
// SIGKILL. It runs systemtest.CounterGraph, which sums the int64 values of its
// input per key into the group table, with LevelDB tables in its own
// directory.
//
// It reports on stdout, one line per event, for the test to wait on:
//
//	assigned 0,3,5   a consumer group session started with these partitions ("-": none)
//	rebalances 2     the processor's goka_processor_rebalances_total after that session started
//	ready            every partition of the first assignment is restored
//	processed 1234   messages counted so far, at most twice a second
//	stopped          Run returned nil after SIGTERM or SIGINT; exit status 0
//	failed: <error>  Run returned an error; exit status 1
//
// The library's log goes to stderr. With -cluster it runs as the cluster
// scenarios need: tables replicated systemtest.ClusterReplication times, and
// the library's own producer defaults (systemtest.ClusterConfig). With
// -instance-id it is a static member of its group (goka.WithGroupInstanceID);
// -session-timeout replaces the scenarios' short session timeout, for a
// static member the longest restart that moves no partition. With
// -cooperative the group rebalances with the incremental cooperative
// protocol (goka.WithCooperativeRebalancing); every instance of a group must
// agree on it. -heartbeat replaces the scenarios' short heartbeat interval,
// which bounds how long the members take to notice a rebalance.
// With -exactly-once it processes exactly once (goka.WithExactlyOnce).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// progressEvery is how often the processed count is reported.
const progressEvery = 500 * time.Millisecond

func main() {
	os.Exit(run())
}

func run() int {
	brokers := flag.String("brokers", "", "comma-separated Kafka brokers")
	group := flag.String("group", "", "consumer group and table prefix")
	input := flag.String("input", "", "input stream of int64 deltas")
	dir := flag.String("dir", "", "directory of the LevelDB tables")
	name := flag.String("name", "counter", "instance name for the log")
	cluster := flag.Bool("cluster", false, "replicated tables and the library's producer defaults, for the three-broker cluster")
	instanceID := flag.String("instance-id", "", "group instance id: a static member of the group")
	sessionTimeout := flag.Duration("session-timeout", 0, "consumer group session timeout instead of the scenarios' default")
	cooperative := flag.Bool("cooperative", false, "rebalance with the incremental cooperative protocol")
	heartbeat := flag.Duration("heartbeat", 0, "consumer group heartbeat interval instead of the scenarios' default")
	exactlyOnce := flag.Bool("exactly-once", false, "exactly-once processing (goka.WithExactlyOnce)")
	flag.Parse()
	if *brokers == "" || *group == "" || *input == "" || *dir == "" {
		fmt.Fprintln(os.Stderr, "counter: -brokers, -group, -input and -dir are required")
		return 2
	}

	out := &reporter{}
	logger := log.New(os.Stderr, *name+" ", log.LstdFlags|log.Lmicroseconds)
	var processed atomic.Int64
	gg := systemtest.CounterGraph(goka.Group(*group), goka.Stream(*input), func(string, int64) {
		processed.Add(1)
	})
	cfg, tmc := systemtest.FastConfig(), systemtest.TopicManagerConfig()
	if *cluster {
		cfg, tmc = systemtest.ClusterConfig(), systemtest.ClusterTopicManagerConfig()
	}
	if *sessionTimeout > 0 {
		systemtest.SetSessionTimeout(cfg, *sessionTimeout)
	}
	if *heartbeat > 0 {
		cfg.Consumer.Group.Heartbeat.Interval = *heartbeat
	}
	reg := prometheus.NewRegistry()
	opts := systemtest.ProcessorOptions(cfg, tmc, storage.DefaultBuilder(*dir))
	opts = append(opts,
		goka.WithLogger(logger),
		goka.WithClientID(*name),
		goka.WithMetrics(reg),
		goka.WithRebalanceCallback(func(a goka.Assignment) {
			out.line("assigned " + formatAssignment(a))
			out.line("rebalances " + strconv.FormatInt(rebalances(reg), 10))
		}),
	)
	if *instanceID != "" {
		opts = append(opts, goka.WithGroupInstanceID(*instanceID))
	}
	if *cooperative {
		opts = append(opts, goka.WithCooperativeRebalancing())
	}
	if *exactlyOnce {
		opts = append(opts, goka.WithExactlyOnce(), goka.WithTransactionalProducerBuilder(goka.TransactionalProducerBuilderWithConfig(cfg)))
	}
	proc, err := goka.NewProcessor(strings.Split(*brokers, ","), gg, opts...)
	if err != nil {
		out.line("failed: " + err.Error())
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	var wg sync.WaitGroup
	reporting, stopReporting := context.WithCancel(ctx)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := proc.WaitForReadyContext(reporting); err == nil && reporting.Err() == nil {
			out.line("ready")
		}
	}()
	go func() {
		defer wg.Done()
		reportProgress(reporting, out, &processed)
	}()

	err = proc.Run(ctx)
	stopReporting()
	wg.Wait()
	out.line("processed " + strconv.FormatInt(processed.Load(), 10))
	if err != nil {
		out.line("failed: " + strings.ReplaceAll(err.Error(), "\n", " | "))
		return 1
	}
	out.line("stopped")
	return 0
}

// reportProgress prints the processed count whenever it changed, until ctx
// ends.
func reportProgress(ctx context.Context, out *reporter, processed *atomic.Int64) {
	ticker := time.NewTicker(progressEvery)
	defer ticker.Stop()
	last := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if n := processed.Load(); n != last {
				last = n
				out.line("processed " + strconv.FormatInt(n, 10))
			}
		}
	}
}

// rebalances reads the processor's goka_processor_rebalances_total, -1 if
// it cannot.
func rebalances(reg *prometheus.Registry) int64 {
	families, err := reg.Gather()
	if err != nil {
		return -1
	}
	for _, f := range families {
		if f.GetName() != "goka_processor_rebalances_total" {
			continue
		}
		var n float64
		for _, m := range f.GetMetric() {
			n += m.GetCounter().GetValue()
		}
		return int64(n)
	}
	return -1
}

// formatAssignment lists the partitions in order, "-" for none.
func formatAssignment(a goka.Assignment) string {
	if len(a) == 0 {
		return "-"
	}
	parts := make([]int32, 0, len(a))
	for p := range a {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	strs := make([]string, len(parts))
	for i, p := range parts {
		strs[i] = strconv.Itoa(int(p))
	}
	return strings.Join(strs, ",")
}

// reporter writes whole lines to stdout, one at a time, so that the
// goroutines reporting never interleave within a line.
type reporter struct {
	mu sync.Mutex
}

func (r *reporter) line(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(os.Stdout, s)
}
