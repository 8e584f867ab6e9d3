package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/internal/proxy"
	"github.com/seed-b2c684ed/goka/kafkatest"
)

// env is where the example runs.
type env struct {
	brokers []string
	// writerConfig is the writer's client configuration; on the embedded
	// broker it dials around the proxy, so only the view is cut off.
	writerConfig *sarama.Config
	proxy        *proxy.Proxy // nil on a real broker
	cleanup      func()
}

// setup returns a real broker's env with -brokers. Otherwise it starts an
// embedded broker behind a proxy. A Kafka client connects to the addresses
// the broker announces in its metadata, not to the one it was given, so the
// broker announces the proxy's address and every client goes through it.
func setup() (*env, error) {
	if *brokerList != "" {
		return &env{
			brokers:      strings.Split(*brokerList, ","),
			writerConfig: goka.DefaultConfig(),
			cleanup:      func() {},
		}, nil
	}
	var (
		p    *proxy.Proxy
		perr error
	)
	cluster, err := kafkatest.NewCluster(kafkatest.WithAdvertisedAddr(func(listen string) string {
		p, perr = proxy.New(listen)
		if perr != nil {
			return listen
		}
		return p.Addr()
	}))
	if err != nil || perr != nil {
		if cluster != nil {
			cluster.Close()
		}
		if p != nil {
			p.Close()
		}
		return nil, fmt.Errorf("starting the embedded broker behind a proxy: %w", errors.Join(err, perr))
	}
	log.Printf("embedded Kafka broker at %s, reached through a proxy at %s", p.Target(), p.Addr())

	writer := goka.DefaultConfig()
	writer.Producer.Flush.Frequency = 10 * time.Millisecond
	writer.Net.Proxy.Enable = true
	writer.Net.Proxy.Dialer = bypass{proxy: p.Addr(), broker: p.Target()}
	return &env{
		brokers:      cluster.Addrs(),
		writerConfig: writer,
		proxy:        p,
		cleanup: func() {
			// The broker first, so its connections end at the broker.
			cluster.Close()
			p.Close()
		},
	}, nil
}

// bypass dials the broker itself where a client would dial the proxy.
type bypass struct{ proxy, broker string }

func (b bypass) Dial(network, addr string) (net.Conn, error) {
	if addr == b.proxy {
		addr = b.broker
	}
	return (&net.Dialer{Timeout: 5 * time.Second}).Dial(network, addr)
}

// cutOnce waits until the view has recovered and runs for after, cuts its
// connection for length, restores it and waits until the view is running
// again.
func cutOnce(ctx context.Context, view *goka.View, p *proxy.Proxy, after, length time.Duration) error {
	if err := view.WaitRecovered(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if !sleep(ctx, after) {
		return nil
	}
	fmt.Printf("[%s] cutting the view's connection for %v\n", time.Now().Format("15:04:05.000"), length)
	p.Cut()
	if !sleep(ctx, length) {
		return nil
	}
	fmt.Printf("[%s] restoring the connection\n", time.Now().Format("15:04:05.000"))
	p.Restore()
	select {
	case <-view.WaitRunning():
	case <-ctx.Done():
	}
	return nil
}

// sleep waits for d and reports whether ctx is still alive: the cut is
// scheduled on the clock, not on a condition.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
