// Command bench measures the library against the raw clients it is built on:
// the emitter against sarama's async producer, a counting processor against a
// sarama consume-then-produce pipeline and a bare consumer group, table
// recovery against a sarama consumer and goleveldb batch writes, view reads
// against goleveldb reads, and the tester on its own. On request it also
// measures latencies at a paced rate: how soon a view shows what was
// written, at 100 and 10,000 messages per second, steady and in the first
// second after it reports recovered, against a sarama consumer's receipt;
// a processor's end-to-end latency at 1,000 messages per second against a
// sarama consume-then-produce pipeline; and the restore of a processor with
// a group table and two joins of 64 partitions in hot standby, against a
// sarama consumer reading the same 192 partitions.
//
// Every figure is a ratio to a baseline measured in the same run on the same
// broker, because the machines these run on are shared and noisy. Each raw
// client runs twice, with sarama's defaults and with the library's
// configuration, and the ratio that counts is against the faster: the
// library's own choices (a smaller fetch, a batching producer) must not
// handicap the limit it is measured against. By default
// the broker is an embedded kafkatest broker; -brokers host:port uses a real
// one.
//
// Each workload runs in a child process of its own (see -fork), so that the
// peak RSS reported for it is the workload's alone: not the embedded broker's,
// which keeps every message in the parent's memory, and not what an earlier
// workload left behind in the Go heap.
//
//	go run ./bench                      # the default set, embedded broker
//	go run ./bench -quick               # tiny sizes, a smoke run
//	go run ./bench -only recovery-1m    # the 1-million-key memory check
//	go run ./bench -only recovery-1m -rec1m-n 10000000 -runs 1 -brokers host:9092
//	                                    # the same with 10M keys (a real broker:
//	                                    # the embedded one keeps 1 GB in memory)
//	go run ./bench -only durability     # what the durable defaults cost
//	go run ./bench -only view-freshness,processor-latency,many-partitions
//	                                    # latencies at a paced rate, 64 partitions
//	go run ./bench -brokers host:9092   # a real broker
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	opts, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if opts.child {
		err = runChild(ctx, opts, os.Stdout)
	} else {
		err = runParent(ctx, opts, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
