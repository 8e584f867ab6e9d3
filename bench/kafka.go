package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/storage"
)

// env is a workload's view of the broker: the configuration every client
// of the workload uses, library and baseline alike, and the topics and groups
// it created, which are removed when the workload ends.
type env struct {
	opts    *options
	brokers []string
	cfg     *sarama.Config
	tmCfg   *goka.TopicManagerConfig
	logger  goka.Logger
	admin   sarama.ClusterAdmin
	*created
}

// created is what a workload made on the broker, shared by the envs that
// differ only in their client configuration (see withConfig).
type created struct {
	topics []string
	groups []string
	seq    int
}

func newEnv(opts *options, brokers []string) (*env, error) {
	cfg := benchConfig(opts.flush)
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %v: %w", brokers, err)
	}
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	logger := goka.Logger(log.New(io.Discard, "", 0))
	if opts.verbose {
		logger = log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)
	}
	// The topic manager's logger has goka's unexported type: the default
	// logs only configuration mismatches, which the bench never causes.
	return &env{opts: opts, brokers: brokers, cfg: cfg, tmCfg: tmc, logger: logger, admin: admin, created: &created{}}, nil
}

// withConfig returns an env whose library and baseline clients use cfg, and
// whose topics and groups are removed with e's.
func (e *env) withConfig(cfg *sarama.Config) *env {
	c := *e
	c.cfg = cfg
	return &c
}

// benchConfig is the library's default configuration with the one change a
// benchmark over pre-produced topics needs: new groups start at the oldest
// offset. flush, when positive, replaces the producer's flush frequency.
func benchConfig(flush time.Duration) *sarama.Config {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	if flush > 0 {
		cfg.Producer.Flush.Frequency = flush
	}
	return cfg
}

// saramaDefaults is sarama's own configuration with only what a raw client
// of the bench needs: groups start at the oldest offset, the consumer
// reports errors, the producer reports successes (they are counted), and the
// protocol version is the library's. A baseline run with it shows what the
// client reaches when nothing is tuned for the library's needs (sarama
// fetches 1 MiB per partition where the library fetches 256 KiB, and sends
// at once where the library batches), so that a ratio is not flattered by a
// baseline the library's own choices handicap.
func saramaDefaults() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = goka.DefaultConfig().Version
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Return.Errors = true
	cfg.Producer.Return.Successes = true
	return cfg
}

// defaults returns an env whose clients use sarama's defaults: the second
// baseline of every raw client (see result.addBaselinePair).
func (e *env) defaults() *env {
	return e.withConfig(saramaDefaults())
}

// config returns a copy of the workload's configuration to change.
func (e *env) config() *sarama.Config {
	c := *e.cfg
	return &c
}

// producerConfig is the configuration of a raw producer: the workload's, with
// the library's partitioner, so keys land where processors and views look.
func (e *env) producerConfig() *sarama.Config {
	c := e.config()
	c.Producer.Partitioner = sarama.NewCustomHashPartitioner(goka.DefaultHasher())
	return c
}

// name returns a topic or group name unique to this run and workload.
func (e *env) name(what string) string {
	e.seq++
	return fmt.Sprintf("bench-%s-%s-%d", e.opts.runID, what, e.seq)
}

// group registers a consumer group name for removal.
func (e *env) group(what string) string {
	g := e.name(what)
	e.groups = append(e.groups, g)
	return g
}

// ownTopic registers a topic some client creates, for removal.
func (e *env) ownTopic(topic string) {
	e.topics = append(e.topics, topic)
}

// createTopic creates a topic with replication 1; compact makes it a
// table topic, as the library's topic manager would.
func (e *env) createTopic(topic string, partitions int, compact bool) error {
	detail := &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: 1, ConfigEntries: map[string]*string{}}
	if compact {
		policy := "compact"
		detail.ConfigEntries["cleanup.policy"] = &policy
		// One large segment: the cleaner never compacts the active segment,
		// so every run restores the same records and the ratio to the
		// baseline compares like with like (the test broker rolls segments
		// at 1 MiB, and compaction mid-benchmark made restores look faster
		// than the raw consumer).
		segment := "1073741824"
		detail.ConfigEntries["segment.bytes"] = &segment
	}
	if err := e.admin.CreateTopic(topic, detail, false); err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	e.ownTopic(topic)
	return e.waitForTopic(topic, partitions)
}

// waitForTopic waits until the metadata shows every partition of topic: a
// real broker creates topics asynchronously.
func (e *env) waitForTopic(topic string, partitions int) error {
	client, err := sarama.NewClient(e.brokers, e.config())
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer client.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := client.RefreshMetadata(topic); err == nil {
			if ps, err := client.Partitions(topic); err == nil && len(ps) == partitions {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s did not show %d partitions in time", topic, partitions)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// close removes what the workload created and disconnects.
func (e *env) close() error {
	var errs []error
	for _, g := range e.groups {
		// A group a client never joined does not exist; that is fine.
		if err := e.admin.DeleteConsumerGroup(g); err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
			errs = append(errs, fmt.Errorf("deleting group %s: %w", g, err))
		}
	}
	for _, t := range e.topics {
		if err := e.admin.DeleteTopic(t); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("deleting topic %s: %w", t, err))
		}
	}
	if err := e.admin.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the cluster admin: %w", err))
	}
	return errors.Join(errs...)
}

// record is one generated message.
type record struct {
	key   string
	value []byte
}

// produce writes n generated records to topic with a raw async producer and
// returns when each is acknowledged. It prepares workloads and is not timed,
// so it flushes more eagerly than the library's defaults.
func (e *env) produce(topic string, n int, gen func(i int) record) error {
	cfg := e.producerConfig()
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	cfg.Producer.Flush.Bytes = 1 << 20
	producer, err := sarama.NewAsyncProducer(e.brokers, cfg)
	if err != nil {
		return fmt.Errorf("creating the producer: %w", err)
	}
	go func() {
		for i := range n {
			r := gen(i)
			producer.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(r.key), Value: sarama.ByteEncoder(r.value)}
		}
	}()
	var firstErr error
	for range n {
		select {
		case <-producer.Successes():
		case perr := <-producer.Errors():
			if firstErr == nil {
				firstErr = fmt.Errorf("producing to %s: %w", topic, perr.Err)
			}
		}
	}
	if err := producer.Close(); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("closing the producer: %w", err)
	}
	return firstErr
}

// endOffsets returns the high-water mark of every partition of topic.
func (e *env) endOffsets(topic string) (map[int32]int64, error) {
	client, err := sarama.NewClient(e.brokers, e.config())
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	defer client.Close()
	return hwms(client, topic)
}

func hwms(client sarama.Client, topic string) (map[int32]int64, error) {
	parts, err := client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("listing partitions of %s: %w", topic, err)
	}
	ends := make(map[int32]int64, len(parts))
	for _, p := range parts {
		if ends[p], err = newestOffset(client, topic, p); err != nil {
			return nil, fmt.Errorf("reading the end of %s/%d: %w", topic, p, err)
		}
	}
	return ends, nil
}

// newestOffset asks for the high-water mark of a partition. A topic created
// a moment ago may not have its leaders in the client's metadata yet (Kafka
// answers "not the leader"): then it refreshes the metadata and asks again,
// for up to ten seconds.
func newestOffset(client sarama.Client, topic string, partition int32) (int64, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		offset, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
		if err == nil || time.Now().After(deadline) ||
			!(errors.Is(err, sarama.ErrNotLeaderForPartition) || errors.Is(err, sarama.ErrLeaderNotAvailable)) {
			return offset, err
		}
		_ = client.RefreshMetadata(topic) // the next GetOffset reports what still fails
		time.Sleep(100 * time.Millisecond)
	}
}

// processorOptions build a processor's clients from the workload's
// configuration and keep its tables in dir.
func (e *env) processorOptions(dir string) []goka.ProcessorOption {
	return []goka.ProcessorOption{
		goka.WithStorageBuilder(storage.DefaultBuilder(dir)),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(e.cfg, e.tmCfg)),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(e.cfg)),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(e.cfg)),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(e.cfg)),
		goka.WithLogger(e.logger),
	}
}

// viewOptions are processorOptions for a view.
func (e *env) viewOptions(dir string) []goka.ViewOption {
	return []goka.ViewOption{
		goka.WithViewStorageBuilder(storage.DefaultBuilder(dir)),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(e.cfg, e.tmCfg)),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(e.cfg)),
		goka.WithViewLogger(e.logger),
	}
}

// emitterOptions are processorOptions for an emitter.
func (e *env) emitterOptions() []goka.EmitterOption {
	return []goka.EmitterOption{
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(e.cfg)),
		goka.WithEmitterLogger(e.logger),
	}
}

// keyOf is the i-th key of a key space; fixed width, so keys sort by i.
func keyOf(i int) string {
	return "key-" + strconv.Itoa(1e8 + i)[1:]
}

// filler returns n bytes of printable text.
func filler(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}
