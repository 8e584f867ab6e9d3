package systemtest_test

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/internal/proxy"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// The broker announces its own address in the metadata, and a Kafka client
// connects to what the metadata announces, so a proxy that clients only
// bootstrap through would be bypassed after the first request. The real
// broker cannot announce a proxy that a test starts on a free port without a
// restart, so the redirection is made on the client side instead: sarama
// dials through Net.Proxy.Dialer when Net.Proxy.Enable is set, and the
// dialer below sends every connection to the proxy whatever address it was
// asked for. With a single broker every address is that broker's, so nothing
// is lost by not looking at it; newProxied checks that there is one.

// proxyDialer connects every client connection to the proxy.
type proxyDialer struct {
	proxy  string
	dialer net.Dialer
	dials  atomic.Int64
}

// Dial ignores addr, which is always the broker's, and connects to the proxy.
func (d *proxyDialer) Dial(network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	conn, err := d.dialer.Dial(network, d.proxy)
	if err != nil {
		return nil, fmt.Errorf("dialling %s through the proxy at %s: %w", addr, d.proxy, err)
	}
	return conn, nil
}

// proxied is a fault-injecting proxy in front of the broker and a client
// configuration that reaches the broker only through it.
type proxied struct {
	proxy  *proxy.Proxy
	dialer *proxyDialer
	cfg    *sarama.Config
}

func newProxied(t *testing.T, c *cluster) *proxied {
	t.Helper()
	require.Len(t, c.client.Brokers(), 1, "the client-side redirection assumes a single broker")
	p, err := proxy.New(c.brokers[0])
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	d := &proxyDialer{proxy: p.Addr(), dialer: net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}}
	cfg := systemtest.FastConfig()
	cfg.Net.Proxy.Enable = true
	cfg.Net.Proxy.Dialer = d
	return &proxied{proxy: p, dialer: d, cfg: cfg}
}

// TestProxyDialerRoutesEverything checks the redirection itself: with the
// proxy cut, a proxied client cannot reach the broker by any address, not
// even the one the metadata announces, while a direct client can.
func TestProxyDialerRoutesEverything(t *testing.T) {
	c := newCluster(t)
	px := newProxied(t, c)
	cfg := *px.cfg
	cfg.Metadata.Retry.Max = 0

	client, err := sarama.NewClient(c.brokers, &cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close()) }()
	require.NoError(t, client.RefreshMetadata())
	require.Positive(t, px.dialer.dials.Load())
	require.Positive(t, px.proxy.Connections())

	px.proxy.Cut()
	defer px.proxy.Restore()
	for _, addr := range append(append([]string(nil), c.brokers...), client.Brokers()[0].Addr()) {
		b := sarama.NewBroker(addr)
		require.NoError(t, b.Open(&cfg))
		_, err := b.GetMetadata(&sarama.MetadataRequest{Version: 4})
		require.Error(t, err, "a proxied connection to %s went around the cut proxy", addr)
		_ = b.Close()
	}
	require.NoError(t, c.client.RefreshMetadata(), "the direct client still reaches the broker")
}
