package kafkatest

// config holds what the options choose; defaults mirror a single-node Kafka
// 4.x broker in its default configuration.
type config struct {
	port          int
	partitions    int32
	brokers       int
	seeds         []seed
	brokerConfigs map[string]string
	legacy        bool
	advertise     func(listenAddr string) string
}

// seed is one WithSeedTopics call.
type seed struct {
	partitions int32
	topics     []string
}

func defaultConfig() config {
	return config{
		partitions: 1,
		brokers:    1,
	}
}

// Option configures a Cluster in NewCluster.
type Option func(*config)

// WithPort makes the first broker listen on 127.0.0.1:port, for examples that
// tell their users which address to connect to. Further brokers always get a
// free port. The default, 0, picks a free port, which is what tests want: two
// tests never collide on an address.
func WithPort(port int) Option {
	return func(c *config) { c.port = port }
}

// WithPartitions sets the partition count of topics created without one (a
// CreateTopics request with -1 partitions, or WithSeedTopics with a count
// below 1). The default is 1, Kafka's num.partitions default; the library
// always creates topics with an explicit count, so this matters only for tests
// that create topics through other clients.
func WithPartitions(n int32) Option {
	return func(c *config) { c.partitions = n }
}

// WithBrokers sets the number of brokers, default 1. More brokers spread
// partition leadership and group coordination over several addresses, which
// exercises a client's per-broker connections; they share one in-memory log,
// so there is no replication to test.
func WithBrokers(n int) Option {
	return func(c *config) { c.brokers = n }
}

// WithSeedTopics creates topics before the broker accepts its first
// connection, each with the given number of partitions (below 1: the
// WithPartitions count). The option may be given several times; a topic named
// twice gets the last count.
func WithSeedTopics(partitions int32, topics ...string) Option {
	return func(c *config) {
		c.seeds = append(c.seeds, seed{partitions: partitions, topics: append([]string(nil), topics...)})
	}
}

// WithBrokerConfig sets a dynamic broker config such as
// group.min.session.timeout.ms (default 6000, as in Kafka), which tests lower
// to let a consumer group notice a vanished member sooner. Every key kfake
// knows is accepted; see kfake.BrokerConfigs.
func WithBrokerConfig(key, value string) Option {
	return func(c *config) {
		if c.brokerConfigs == nil {
			c.brokerConfigs = make(map[string]string)
		}
		c.brokerConfigs[key] = value
	}
}

// WithLegacyProtocols lets the broker accept the request versions Kafka 4.0
// removed (KIP-896), for tests of a client configured for an older broker. By
// default those requests are refused as a Kafka 4.x broker refuses them.
func WithLegacyProtocols() Option {
	return func(c *config) { c.legacy = true }
}

// WithAdvertisedAddr makes each broker announce, in its metadata, the address
// advertise returns instead of the one it listens on, so that clients connect
// there: a test puts a proxy at that address, in front of the broker, to cut
// and restore the clients' connections. advertise is called once for each
// broker, in order, during NewCluster, with the broker's "127.0.0.1:port", and
// must return a host:port; Addrs then returns the advertised addresses, and
// the Cluster's own requests (CreateTopic) go through them too.
func WithAdvertisedAddr(advertise func(listenAddr string) string) Option {
	return func(c *config) { c.advertise = advertise }
}
