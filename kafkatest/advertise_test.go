package kafkatest

import (
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/internal/proxy"
)

// proxied starts a cluster whose brokers announce proxies in front of them.
func proxied(t *testing.T, brokers int) (*Cluster, []*proxy.Proxy) {
	t.Helper()
	var proxies []*proxy.Proxy
	var perr error
	c, err := NewCluster(WithBrokers(brokers), WithAdvertisedAddr(func(listen string) string {
		p, err := proxy.New(listen)
		if err != nil {
			perr = errors.Join(perr, err)
			return listen
		}
		proxies = append(proxies, p)
		return p.Addr()
	}))
	for _, p := range proxies {
		t.Cleanup(func() { require.NoError(t, p.Close()) })
	}
	require.NoError(t, perr)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c, proxies
}

func TestAdvertisedAddrRoutesClientsThroughIt(t *testing.T) {
	c, proxies := proxied(t, 2)
	require.Len(t, proxies, 2)
	assert.Equal(t, []string{proxies[0].Addr(), proxies[1].Addr()}, c.Addrs())
	require.NoError(t, c.CreateTopic("topic", 4, nil), "the cluster's own requests go through the proxies")

	cfg := libraryConfig()
	cfg.Metadata.Retry.Max = 0
	cfg.Producer.Retry.Max = 0
	client, err := sarama.NewClient(c.Addrs()[:1], cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close()) }()
	var announced []string
	for _, b := range client.Brokers() {
		announced = append(announced, b.Addr())
	}
	assert.ElementsMatch(t, c.Addrs(), announced, "metadata names the proxies, not the brokers")

	producer, err := sarama.NewSyncProducerFromClient(client)
	require.NoError(t, err)
	defer func() { require.NoError(t, producer.Close()) }()
	_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: "topic", Partition: 0, Value: sarama.StringEncoder("up")})
	require.NoError(t, err)

	for _, p := range proxies {
		p.Cut()
	}
	_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: "topic", Partition: 0, Value: sarama.StringEncoder("cut")})
	require.Error(t, err, "with every broker behind a cut proxy nothing gets through")

	for _, p := range proxies {
		p.Restore()
	}
	// The producer holds the connection the cut closed, and with no retries its
	// first send may still find it broken; a send within the deadline must pass.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: "topic", Partition: 0, Value: sarama.StringEncoder("restored")})
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	require.NoError(t, err, "no send passed within 10 s of the proxies' restore")
}

func TestAdvertisedAddrMustBeAHostPort(t *testing.T) {
	for _, bad := range []string{"no-port", ":9092", "localhost:0", "localhost:port"} {
		_, err := NewCluster(WithAdvertisedAddr(func(string) string { return bad }))
		assert.ErrorIs(t, err, ErrInvalidOption, bad)
		assert.ErrorContains(t, err, bad)
	}
}
