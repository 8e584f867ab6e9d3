package goka

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/engine"
	"github.com/seed-b2c684ed/goka/internal/table"
)

// DefaultCommitInterval is how often an exactly-once processor commits its
// transaction by default: Kafka Streams' default. Readers with
// read_committed see a processor's writes up to one interval late.
const DefaultCommitInterval = 100 * time.Millisecond

// ErrTransactionAborted is wrapped by the error Run returns when the
// exactly-once transaction of the processor was aborted: a callback failed,
// a write was refused, or the commit was refused. Nothing the processor
// wrote since its last commit is visible to read_committed readers, and its
// local tables are rebuilt from their topics at the next start.
var ErrTransactionAborted = engine.ErrTxnAborted

// ErrFenced is wrapped, with ErrTransactionAborted, by the error Run returns
// when the broker refused the processor's transaction because the instance
// lost its partitions (a newer consumer group generation owns them, or
// another producer took its transactional id): the instance is a zombie,
// and what it wrote since its last commit is discarded.
var ErrFenced = errors.New("fenced: the instance lost its partitions to another")

// ErrDeferCommitExactlyOnce fails a callback that calls DeferCommit in a
// processor with exactly-once: the message's offset commits in the
// transaction of its writes and cannot wait for anything outside Kafka.
var ErrDeferCommitExactlyOnce = engine.ErrDeferCommitExactlyOnce

// WithExactlyOnce makes the processor process exactly once, within Kafka:
// what its callbacks cause in Kafka (group table writes, emits, loopbacks)
// and the input offsets they consumed are committed together in one Kafka
// transaction per commit interval (WithCommitInterval), or not at all. Off
// by default; goka has no such option.
//
// Layout: one transactional producer per processor instance carries the
// writes of all the instance's partitions (Kafka Streams' exactly-once v2,
// KIP-447). The offsets are added to the transaction with the consumer
// group's generation and member id, so the group coordinator refuses the
// commit of an instance that lost its partitions in a rebalance (a zombie
// paused past its session timeout): its transaction is aborted and Run
// returns an error wrapping ErrFenced and ErrTransactionAborted.
//
// transactional.id: "<group>-<group instance id>" with WithGroupInstanceID,
// stable across restarts, so a restarted instance's producer aborts at once
// the transaction its predecessor left open; give every instance its own id
// (two instances with one id fence each other). Without WithGroupInstanceID
// it is "<group>-<client id>-<random>", new at every Run: correctness does
// not depend on it (the generation fences zombies), but a transaction left
// open by a crash then holds back read_committed readers of the topics it
// wrote (the restores of the table by the partitions' new owners included)
// until the broker aborts it after Producer.Transaction.Timeout (10 s in
// DefaultConfig, a minute in sarama's own default configuration).
//
// Reads: the inputs, and the restores and following of the group table
// and joins, read with read_committed, so aborted writes are never seen;
// the transaction markers and aborted records are skipped by the restores'
// gap checks (proven to hold no committed data). The processor's lookup
// tables read committed too; a View reads committed with
// WithViewReadCommitted. The library's consumer builders
// (DefaultConsumerGroupBuilder, ConsumerGroupBuilderWithConfig,
// DefaultSaramaConsumerBuilder, SaramaConsumerBuilderWithConfig) set
// Consumer.IsolationLevel for the processor; a builder of your own must set
// sarama.ReadCommitted itself.
//
// Not with WithCooperativeRebalancing: NewProcessor refuses the pair (see
// the README's exactly-once chapter for why); the eager protocol, the
// default, ends a session and commits before it rejoins the group.
//
// The producer is built by WithTransactionalProducerBuilder's builder
// (DefaultTransactionalProducerBuilder by default); WithProducerBuilder is
// not used. Its configuration needs Version >= sarama.V2_5_0_0 (KIP-447).
//
// Local state: the group table store stays marked dirty while the
// partition runs (as at-least-once); a clean stop commits the last
// transaction first and marks the store clean only when that commit
// succeeded. Any abort (a failed callback, a refused write or commit, a
// fenced instance) stops the processor with its stores dirty, and a crash
// leaves them dirty: the next start rebuilds them from the table topic's
// committed content.
//
// Guaranteed: every input message's effects inside Kafka appear exactly
// once for read_committed readers, under crashes, rebalances and fencing.
// Not guaranteed: effects outside Kafka (an Emitter, an HTTP call, a
// database written from a callback) happen again when a message is
// processed again after an abort or crash. DeferCommit is refused (the
// callback fails with ErrDeferCommitExactlyOnce), and so is a write made
// by a goroutine after its callback returned (it would land in a later
// transaction than its message's offset). A message that stops the
// processor (the default error policy, StopOnError) aborts the transaction
// of the whole instance, so its partitions' other messages of the interval
// are processed again after the restart; under WithErrorPolicy a skipped
// message's offset, and a dead letter, go into the transaction like any
// other message's, and a message a stop leaves uncommitted during its
// retries keeps its offset out of it.
//
// The tester has no Kafka transactions: with WithTester the option has no
// effect and the processor runs as at-least-once, which the tester's
// synchronous, single-threaded delivery makes exactly once anyway.
func WithExactlyOnce() ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.exactlyOnce = true }
}

// WithCommitInterval sets how often an exactly-once processor commits its
// transaction. Shorter intervals make writes visible sooner to
// read_committed readers and cost more throughput (one commit round trip,
// during which no callback runs, per interval). Default:
// DefaultCommitInterval (100 ms). No effect without WithExactlyOnce.
//
// A commit first waits for the callbacks running, new ones held back; one
// still running after an interval (at least 100 ms) leaves the commit to the
// next tick, the transaction open. At a partition's stop the commit that
// holds its last writes must happen: a callback still running at the stop's
// deadline (WithPartitionStopTimeout) aborts the transaction.
func WithCommitInterval(interval time.Duration) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.commitInterval = interval }
}

// TransactionalProducer is a Producer whose messages belong to the Kafka
// transaction it has open; an exactly-once processor sends through one.
type TransactionalProducer interface {
	Producer
	BeginTxn() error
	CommitTxn() error
	AbortTxn() error
	AddOffsetsToTxnWithGroupMetadata(offsets map[string][]*sarama.PartitionOffsetMetadata, groupMetadata *sarama.ConsumerGroupMetadata) error
}

// TransactionalProducerBuilder builds the transactional producer of an
// exactly-once processor, with transactionalID as its
// Producer.Transaction.ID.
type TransactionalProducerBuilder func(brokers []string, clientID, transactionalID string, hasher func() hash.Hash32) (TransactionalProducer, error)

// WithTransactionalProducerBuilder sets the builder of an exactly-once
// processor's producer. Default: DefaultTransactionalProducerBuilder.
func WithTransactionalProducerBuilder(b TransactionalProducerBuilder) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.builders.txnProducer = b }
}

// DefaultTransactionalProducerBuilder builds a transactional producer from
// the global configuration.
func DefaultTransactionalProducerBuilder(brokers []string, clientID, transactionalID string, hasher func() hash.Hash32) (TransactionalProducer, error) {
	return NewTransactionalProducer(brokers, producerConfig(globalConfig(), clientID, hasher), transactionalID)
}

// TransactionalProducerBuilderWithConfig returns a
// TransactionalProducerBuilder that builds from a copy of config.
func TransactionalProducerBuilderWithConfig(config *sarama.Config) TransactionalProducerBuilder {
	return func(brokers []string, clientID, transactionalID string, hasher func() hash.Hash32) (TransactionalProducer, error) {
		if config == nil {
			return nil, fmt.Errorf("building transactional producer: %w", errNilConfig)
		}
		return NewTransactionalProducer(brokers, producerConfig(copyConfig(config), clientID, hasher), transactionalID)
	}
}

// minTransactionalVersion is the first Kafka version whose TxnOffsetCommit
// carries the group's generation and member id (KIP-447).
var minTransactionalVersion = sarama.V2_5_0_0

// NewTransactionalProducer returns a TransactionalProducer on a sarama
// AsyncProducer built from config with Producer.Transaction.ID set to
// transactionalID and what sarama requires of a transactional producer
// (idempotence, WaitForAll, Net.MaxOpenRequests = 1); config's Version must
// be at least sarama.V2_5_0_0.
func NewTransactionalProducer(brokers []string, config *sarama.Config, transactionalID string) (TransactionalProducer, error) {
	if config == nil {
		return nil, fmt.Errorf("creating transactional producer: %w", errNilConfig)
	}
	if transactionalID == "" {
		return nil, errors.New("creating transactional producer: empty transactional id")
	}
	if !config.Version.IsAtLeast(minTransactionalVersion) {
		return nil, fmt.Errorf("creating transactional producer %s: exactly-once needs Version >= sarama.V2_5_0_0 (KIP-447), not %s", transactionalID, config.Version)
	}
	config.Producer.Transaction.ID = transactionalID
	config.Producer.Idempotent = true
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Net.MaxOpenRequests = 1
	if config.Producer.Retry.Max < 1 {
		config.Producer.Retry.Max = defaultProducerRetries
	}
	p, err := NewProducer(brokers, config)
	if err != nil {
		return nil, fmt.Errorf("creating transactional producer %s: %w", transactionalID, err)
	}
	return txnProducer{p.(*producer)}, nil
}

// txnProducer drives the transactions of a producer's AsyncProducer.
type txnProducer struct{ *producer }

func (t txnProducer) BeginTxn() error  { return t.async.BeginTxn() }
func (t txnProducer) CommitTxn() error { return t.async.CommitTxn() }
func (t txnProducer) AbortTxn() error  { return t.async.AbortTxn() }
func (t txnProducer) AddOffsetsToTxnWithGroupMetadata(offsets map[string][]*sarama.PartitionOffsetMetadata, meta *sarama.ConsumerGroupMetadata) error {
	return t.async.AddOffsetsToTxnWithGroupMetadata(offsets, meta)
}

// applyExactlyOnce checks the options of exactly-once and routes the
// processor's clients through it: the producer through the transactional
// builder, the consumers through read_committed.
func (o *poptions) applyExactlyOnce(gg *GroupGraph) error {
	if !o.exactlyOnce {
		return nil
	}
	if o.tester {
		o.exactlyOnce = false // see WithExactlyOnce: no transactions in the tester
		return nil
	}
	if o.commitInterval == 0 {
		o.commitInterval = DefaultCommitInterval
	}
	if o.commitInterval < 0 {
		return fmt.Errorf("processor %q: negative commit interval %v", gg.Group(), o.commitInterval)
	}
	if o.builders.txnProducer == nil {
		o.builders.txnProducer = DefaultTransactionalProducerBuilder
	}
	build := o.builders.txnProducer
	group := string(gg.Group())
	o.builders.producer = func(brokers []string, clientID string, hasher func() hash.Hash32) (Producer, error) {
		return build(brokers, clientID, o.transactionalID(group), hasher)
	}
	cg, cs := o.builders.consumerGroup, o.builders.consumerSarama
	o.builders.consumerGroup = func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		var c sarama.ConsumerGroup
		err := readCommitted.during(clientID, func() (err error) { c, err = cg(brokers, group, clientID); return err })
		return c, err
	}
	o.builders.consumerSarama = readCommittedConsumer(cs)
	return nil
}

// transactionalID is the processor's transactional.id (see WithExactlyOnce).
func (o *poptions) transactionalID(group string) string {
	if o.staticMember {
		return group + "-" + o.groupInstanceID
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return group + "-" + o.clientID + "-" + hex.EncodeToString(b[:])
}

// readCommittedConsumer wraps a consumer builder so the library's builders
// it calls read with read_committed.
func readCommittedConsumer(cs SaramaConsumerBuilder) SaramaConsumerBuilder {
	return func(brokers []string, clientID string) (sarama.Consumer, error) {
		var c sarama.Consumer
		err := readCommitted.during(clientID, func() (err error) { c, err = cs(brokers, clientID); return err })
		return c, err
	}
}

// readCommitted hands the isolation level from a processor or view to the
// library's consumer builders it calls: their signatures are goka's and have
// no room for it. A builder asked for a client ID while a read_committed
// build of that client ID runs reads committed; two clients of one ID built
// at once may both read committed, which costs a non-transactional reader
// nothing.
var readCommitted = &isolationHandoff{clients: make(map[string]int)}

type isolationHandoff struct {
	mu      sync.Mutex
	clients map[string]int
}

func (h *isolationHandoff) during(clientID string, fn func() error) error {
	h.mu.Lock()
	h.clients[clientID]++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		if h.clients[clientID]--; h.clients[clientID] == 0 {
			delete(h.clients, clientID)
		}
		h.mu.Unlock()
	}()
	return fn()
}

// applyIsolation sets read_committed in config, a builder's own copy, when
// a read_committed build of clientID runs.
func applyIsolation(config *sarama.Config, clientID string) {
	readCommitted.mu.Lock()
	defer readCommitted.mu.Unlock()
	if readCommitted.clients[clientID] > 0 {
		config.Consumer.IsolationLevel = sarama.ReadCommitted
	}
}

// gapCheck is the check of the gaps a table partition's restore meets. An
// exactly-once processor reads with read_committed, so its check reads the
// batches the same way and counts an aborted transaction's records as no
// data.
func (p *Processor) gapCheck() table.GapCheck {
	if !p.opts.exactlyOnce {
		return table.GapCheckOf(p.tmgr)
	}
	return readCommittedGapCheck(p.tmgr)
}

func readCommittedGapCheck(tm any) table.GapCheck {
	h, ok := tm.(interface{ Client() sarama.Client })
	if !ok || h.Client() == nil {
		return nil
	}
	conf := copyConfig(h.Client().Config())
	conf.Consumer.IsolationLevel = sarama.ReadCommitted
	return table.SaramaGapCheck(configClient{Client: h.Client(), conf: conf})
}

// configClient is a client seen with another configuration.
type configClient struct {
	sarama.Client
	conf *sarama.Config
}

func (c configClient) Config() *sarama.Config { return c.conf }

// newTransactor builds the exactly-once transactor on the processor's
// producer; nil without exactly-once.
func (p *Processor) newTransactor(onFail func(error)) (*engine.Transactor, error) {
	if !p.opts.exactlyOnce {
		return nil, nil
	}
	tp, ok := p.producer.(TransactionalProducer)
	if !ok {
		return nil, fmt.Errorf("processor %q: WithExactlyOnce needs a TransactionalProducer, and the producer built is a %T", p.graph.Group(), p.producer)
	}
	instance := ""
	if p.opts.staticMember {
		instance = p.opts.groupInstanceID
	}
	return engine.NewTransactor(fencingProducer{tp}, string(p.graph.Group()), instance, p.opts.commitInterval, p.log, onFail), nil
}

// runTransactor commits the transactions of an exactly-once processor every
// commit interval until ctx ends; the returned function ends it, waits for
// that and aborts what is left open (a stop commits it before, through the
// partitions).
func (p *Processor) runTransactor(ctx context.Context, t *engine.Transactor) func() {
	if t == nil {
		return func() {}
	}
	// The loop has a context of its own: an attempt may end with an error
	// of its own while its context lives on (a consumer group that cannot
	// be built), and the returned function must not wait for a loop that
	// nothing else ends.
	ctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.Run(ctx)
	}()
	return func() {
		stop()
		<-done
		_ = t.Close()
	}
}

// fencingProducer marks the errors of a fenced instance with ErrFenced.
type fencingProducer struct{ TransactionalProducer }

func (f fencingProducer) CommitTxn() error { return fenced(f.TransactionalProducer.CommitTxn()) }
func (f fencingProducer) BeginTxn() error  { return fenced(f.TransactionalProducer.BeginTxn()) }
func (f fencingProducer) AddOffsetsToTxnWithGroupMetadata(offsets map[string][]*sarama.PartitionOffsetMetadata, meta *sarama.ConsumerGroupMetadata) error {
	return fenced(f.TransactionalProducer.AddOffsetsToTxnWithGroupMetadata(offsets, meta))
}

// fenced wraps err with ErrFenced when the broker says the instance is a
// zombie: its producer epoch is old, or its consumer group generation or
// membership is.
func fenced(err error) error {
	if err == nil {
		return nil
	}
	for _, zombie := range []error{sarama.ErrProducerFenced, sarama.ErrInvalidProducerEpoch, sarama.ErrIllegalGeneration,
		sarama.ErrUnknownMemberId, sarama.ErrFencedInstancedId, sarama.ErrRebalanceInProgress} {
		if errors.Is(err, zombie) {
			return fmt.Errorf("%w: %w", ErrFenced, err)
		}
	}
	return err
}

// lookupReadCommitted makes the lookup views of an exactly-once processor
// read committed, as its other consumers do.
func lookupReadCommitted(o *poptions) ViewOption {
	return func(vo *voptions, t Table, c Codec) {
		if o.exactlyOnce {
			vo.readCommitted = true
		}
	}
}

// readCommittedIdleTimeout is how long a read_committed restore waits
// without a record before its gap check looks at the offsets it misses. A
// table written in transactions ends with a transaction marker, which no
// consumer delivers, so every restore of one ends in such a gap: the
// default wait (table.DefaultIdleTimeout, 5 s, for a gap that is rare
// without transactions) would add itself to every restore, every
// rebalance and every restart. The check is one fetch.
const readCommittedIdleTimeout = 250 * time.Millisecond

// gapIdleTimeout is the restore's idle timeout: readCommittedIdleTimeout
// when it reads committed, else the table's default (zero).
func gapIdleTimeout(readCommitted bool) time.Duration {
	if readCommitted {
		return readCommittedIdleTimeout
	}
	return 0
}
