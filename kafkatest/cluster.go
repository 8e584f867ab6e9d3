package kafkatest

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Cluster is a running in-process Kafka cluster. It is safe for concurrent
// use; create it with NewCluster and end it with Close.
type Cluster struct {
	fake  *kfake.Cluster
	addrs []string
	conns *connTracker
	floor *versionFloor
	roots lineage

	closeOnce sync.Once
	// lifeMu keeps kfake's administrative calls, which block forever on a
	// closed kfake cluster, from running during or after Close.
	lifeMu sync.RWMutex
	closed bool
}

// ErrInvalidOption reports an option value NewCluster cannot run with.
var ErrInvalidOption = errors.New("kafkatest: invalid option")

// closeWait bounds how long Close waits for kfake's goroutines. They end as
// soon as they notice the cluster is closed, so only a wedged broker reaches
// it; Close then returns rather than hang the test, and the test's own leak
// check names what is left.
const closeWait = 10 * time.Second

// NewCluster starts a cluster listening on 127.0.0.1. The defaults are one
// broker on a free port, topics with one partition unless created with a
// count, no automatic topic creation, and Kafka 4.0's protocol floor.
func NewCluster(opts ...Option) (*Cluster, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.brokers < 1 {
		return nil, fmt.Errorf("%w: %d brokers", ErrInvalidOption, cfg.brokers)
	}
	if cfg.partitions < 1 {
		return nil, fmt.Errorf("%w: default of %d partitions", ErrInvalidOption, cfg.partitions)
	}
	if cfg.port < 0 || cfg.port > 65535 {
		return nil, fmt.Errorf("%w: port %d", ErrInvalidOption, cfg.port)
	}

	c := &Cluster{conns: newConnTracker(), floor: new(versionFloor)}
	ports := make([]int, cfg.brokers) // 0: a free port
	ports[0] = cfg.port
	listen := c.conns.listen
	if cfg.advertise != nil {
		listen = advertisedListen(listen, cfg.advertise)
	}
	kopts := []kfake.Opt{
		kfake.Ports(ports...),
		kfake.ListenFn(listen),
		kfake.DefaultNumPartitions(int(cfg.partitions)),
		kfake.ClusterID("kafkatest"),
	}
	for _, s := range cfg.seeds {
		kopts = append(kopts, kfake.SeedTopics(s.partitions, s.topics...))
	}
	if len(cfg.brokerConfigs) > 0 {
		kopts = append(kopts, kfake.BrokerConfigs(cfg.brokerConfigs))
	}

	// kfake's goroutines are those that appear during the start and name
	// this goroutine as their creator; concurrent starts elsewhere name
	// their own.
	caller := currentGoroutineID()
	before := goroutineIDs(dumpGoroutines())
	fake, err := kfake.NewCluster(kopts...)
	c.roots = kfakeRoots(before, dumpGoroutines(), caller)
	if err != nil {
		// A failed start may already have started accept loops on the
		// listeners it then closed.
		c.waitForGoroutines()
		return nil, fmt.Errorf("kafkatest: start cluster: %w", err)
	}
	c.fake = fake
	if !cfg.legacy {
		c.floor.install(fake)
	}
	// Asked once: kfake answers through its request loop, which is gone
	// after Close.
	c.addrs = fake.ListenAddrs()
	return c, nil
}

// Addrs returns the "127.0.0.1:port" address of every broker, for
// sarama.NewClient and the library's brokers argument; with
// WithAdvertisedAddr, the advertised addresses.
func (c *Cluster) Addrs() []string {
	return append([]string(nil), c.addrs...)
}

// Close stops the cluster, cuts off its clients and returns when every
// goroutine the cluster started has ended. Calling it again does nothing;
// concurrent calls all wait for the first.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		c.lifeMu.Lock()
		c.closed = true
		c.lifeMu.Unlock()
		c.fake.Close()
		c.conns.closeAll()
		c.waitForGoroutines()
	})
}

// waitForGoroutines polls until no goroutine of the cluster is left, backing
// off from a millisecond: most are gone at the first look. Polling is the
// only way: kfake's goroutines signal nothing when they end.
func (c *Cluster) waitForGoroutines() {
	deadline := time.Now().Add(closeWait)
	pause := time.Millisecond
	for {
		if !c.conns.busy() && c.roots.alive(dumpGoroutines()) == 0 {
			return
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// Compact runs log compaction on every topic with cleanup.policy=compact now,
// instead of on kfake's timer, so a test can check what a compacted table
// topic still holds. After Close it does nothing.
func (c *Cluster) Compact() {
	c.lifeMu.RLock()
	defer c.lifeMu.RUnlock()
	if c.closed {
		return
	}
	c.fake.Compact()
}

// RefusedRequests lists the requests refused so far because Kafka 4.0 no
// longer accepts their version, as "Name vN (...)". A test that sees a client
// fail for no clear reason can assert this is empty.
func (c *Cluster) RefusedRequests() []string {
	return c.floor.refusedRequests()
}

// Kfake returns the underlying kfake cluster for what this package does not
// wrap: intercepting requests (Control), moving partition leaders, injecting
// faults. Close the Cluster, not the kfake cluster, and call nothing on it
// after Close: kfake's administrative calls block forever on a closed cluster.
func (c *Cluster) Kfake() *kfake.Cluster {
	return c.fake
}
