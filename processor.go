package goka

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/copartition"
	"github.com/seed-b2c684ed/goka/internal/engine"
	"github.com/seed-b2c684ed/goka/internal/metrics"
	"github.com/seed-b2c684ed/goka/internal/stores"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
)

// ErrProcessorAlreadyRun is returned by a second call of Processor.Run: a
// processor, like a view, runs once.
var ErrProcessorAlreadyRun = errors.New("processor already run and terminated")

// ErrPartitionNotReady is returned by Processor.Get for a key whose partition
// this instance holds but has not opened yet: the session that assigned it
// is still setting up. Retry after WaitForReady.
var ErrPartitionNotReady = errors.New("partition not ready")

// Processor runs the callbacks of a group graph on the partitions that the
// Kafka consumer group assigns to it. Build one with NewProcessor and start it
// with Run.
type Processor struct {
	brokers  []string
	graph    *GroupGraph
	compiled *compiledGraph // built by NewProcessor, never changed
	opts     *poptions
	log      logger
	metrics  *metrics.Processor // nil: metrics off

	numPartitions int32
	lookups       map[string]*View
	// bounds are the row cache budget and the restore limit the
	// partitions share (see processor_options_memory.go).
	bounds memoryBounds

	state *Signal

	started atomic.Bool
	cancel  context.CancelFunc
	done    chan struct{}

	errMu sync.Mutex
	errs  []error
	err   error
	// attempt numbers Run's current attempt to run the processor (there
	// are more with WithRestartOnError, see processor_self_healing.go), and
	// abort ends it.
	attempt uint64
	abort   context.CancelFunc

	// Built by Run, used by the partitions.
	producer Producer
	consumer sarama.Consumer
	tmgr     TopicManager
	// stores holds the local tables from one session to the next; built by
	// Run after the clients, closed when Run returns.
	stores *stores.Registry
	// group runs the partitions (see internal/engine); set by Run once the
	// clients are built, nil before.
	group atomic.Pointer[engine.Group]
}

// NewProcessor validates the graph, applies the options, compiles the graph
// for its partitions, checks that the inputs and joins are co-partitioned,
// creates the loop, group-table and dead-letter topics when they are missing
// (and refuses a group table whose partition count differs from the
// inputs'), and builds the views of the lookup tables.
func NewProcessor(brokers []string, gg *GroupGraph, options ...ProcessorOption) (*Processor, error) {
	if gg == nil {
		return nil, errors.New("goka: NewProcessor: the group graph is nil")
	}
	if err := gg.Validate(); err != nil {
		return nil, err
	}
	opts := new(poptions)
	if err := opts.applyOptions(gg, options...); err != nil {
		return nil, err
	}
	compiled, err := compileGraph(gg, opts)
	if err != nil {
		return nil, err
	}
	if err := checkProducerBuilder(opts.builders.producer); err != nil {
		return nil, fmt.Errorf("processor %q: %w", gg.Group(), err)
	}
	m, err := metrics.NewProcessor(opts.metrics, string(gg.Group()))
	if err != nil {
		return nil, fmt.Errorf("processor %q: %w", gg.Group(), err)
	}
	p := &Processor{
		brokers:  brokers,
		graph:    gg,
		compiled: compiled,
		opts:     opts,
		log:      opts.log.Prefix(fmt.Sprintf("Processor %s", gg.Group())).With("group", string(gg.Group())),
		metrics:  m,
		lookups:  compiled.lookups,
		state:    NewSignal(ProcStateIdle, ProcStateStarting, ProcStateSetup, ProcStateRunning, ProcStateStopping, ProcStateStopped, ProcStateRestarting),
		done:     make(chan struct{}),
		bounds:   newMemoryBounds(opts.memory),
	}
	m.WatchRowCache(p.bounds.rows.Used)
	if err := p.prepareTopics(); err != nil {
		return nil, err
	}
	for _, e := range gg.LookupTables() {
		v, err := NewView(brokers, Table(e.Topic()), e.Codec(),
			lookupReadCommitted(opts),
			WithViewLogger(opts.log),
			WithViewHasher(opts.hasher),
			WithViewClientID(opts.clientID),
			WithViewTopicManagerBuilder(opts.builders.topicmgr),
			WithViewStorageBuilder(opts.builders.storage),
			WithViewConsumerSaramaBuilder(opts.builders.consumerSarama),
			WithViewMetrics(opts.metrics),
			withViewRestoreLimit(p.bounds.restores),
			// A view cannot run twice: with restarts, a lookup rides
			// through outages by itself rather than end the processor.
			withViewAutoReconnectIf(opts.restart != nil),
		)
		if err != nil {
			return nil, fmt.Errorf("processor %q: building the view of lookup table %s: %w", gg.Group(), e.Topic(), err)
		}
		p.lookups[e.Topic()] = v
	}
	return p, nil
}

// prepareTopics checks co-partitioning and creates the loop, table and
// dead-letter topics.
func (p *Processor) prepareTopics() error {
	tm, err := p.opts.builders.topicmgr(p.brokers)
	if err != nil {
		return fmt.Errorf("processor %q: building the topic manager: %w", p.graph.Group(), err)
	}
	defer tm.Close()

	var topics []string
	topics = append(topics, p.graph.InputStreams().Topics()...)
	topics = append(topics, p.graph.JointTables().Topics()...)
	npar, err := copartition.CheckTopics(tm, topics)
	if err != nil {
		return fmt.Errorf("processor %q: %w", p.graph.Group(), err)
	}
	p.numPartitions = int32(npar)
	if loop := p.graph.LoopStream(); loop != nil {
		if err := tm.EnsureStreamExists(loop.Topic(), npar); err != nil {
			return fmt.Errorf("processor %q: ensuring loop topic %s: %w", p.graph.Group(), loop.Topic(), err)
		}
	}
	if gt := p.graph.GroupTable(); gt != nil {
		if err := tm.EnsureTableExists(gt.Topic(), npar); err != nil {
			return fmt.Errorf("processor %q: ensuring group table %s: %w", p.graph.Group(), gt.Topic(), err)
		}
		if err := p.checkCompacted(tm, gt.Topic()); err != nil {
			return fmt.Errorf("processor %q: %w", p.graph.Group(), err)
		}
	}
	if err := p.ensureDeadLetterTopics(tm, npar); err != nil {
		return err
	}
	// goka accepts a loop or table with another partition count and then
	// reads keys from the wrong partitions; we refuse to start.
	var created []string
	if loop := p.graph.LoopStream(); loop != nil {
		created = append(created, loop.Topic())
	}
	if gt := p.graph.GroupTable(); gt != nil {
		created = append(created, gt.Topic())
	}
	if len(created) > 0 {
		if _, err := copartition.CheckTopics(tm, append(topics, created...)); err != nil {
			return fmt.Errorf("processor %q: the group's loop and table topics %v must have the %d partitions of its inputs "+
				"(a key would be looked up in the wrong partition); recreate them with %d partitions: %w",
				p.graph.Group(), created, npar, npar, err)
		}
	}
	return nil
}

// ErrTableNotCompacted is returned by NewProcessor when the group table
// exists without log compaction: Kafka would delete its old records by
// retention, and a restore would silently lose the keys not written since.
var ErrTableNotCompacted = errors.New("table topic is not log-compacted")

// checkCompacted refuses an existing group table whose cleanup.policy does
// not include compact, whatever the topic manager's mismatch behaviour: goka
// accepts it and loses table keys once retention deletes them. Only the
// library's own topic manager can describe topic configs; with another one
// (the tester's, a mock) the check is skipped.
func (p *Processor) checkCompacted(tm TopicManager, topic string) error {
	m, ok := tm.(*topicManager)
	if !ok || !m.version.IsAtLeast(sarama.V0_11_0_0) {
		return nil
	}
	entries, err := m.admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	if err != nil {
		// Describing configs may need an ACL the user lacks; the table
		// itself may be fine, so this is no reason to refuse to start.
		p.log.Printf("Warning: cannot check that group table %s is log-compacted: %v", topic, err)
		return nil
	}
	for _, e := range entries {
		if e.Name != "cleanup.policy" {
			continue
		}
		for _, policy := range strings.Split(e.Value, ",") {
			if strings.TrimSpace(policy) == "compact" {
				return nil
			}
		}
		return fmt.Errorf("group table %s has cleanup.policy=%q: %w; set cleanup.policy=compact on the topic "+
			"(kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact) or delete it so it is created compacted",
			topic, e.Value, ErrTableNotCompacted, topic)
	}
	return nil
}

// newTablePartition builds the restore-and-follow machinery of one table
// partition with the processor's storage and update callback.
func (p *Processor) newTablePartition(topic string, partition int32, cb UpdateCallback) *table.Partition {
	return table.New(table.Config{
		Topic:     topic,
		Partition: partition,
		Builder:   p.opts.builders.storage,
		Consumer:  p.consumer,
		Offsets:   p.tmgr,
		GapCheck:  p.gapCheck(),
		// Zero (the default) unless the restore reads committed.
		IdleTimeout: gapIdleTimeout(p.opts.exactlyOnce),
		Update:      tableUpdate(cb),
		Logf:        p.log.Prefix(fmt.Sprintf("table %s/%d", topic, partition)).With("topic", topic).With("partition", partition).Printf,
		// Shared by every table partition of the processor and its lookups.
		RestoreLimit: p.bounds.restores,
		// A table followed after its restore takes the restoring consumer
		// over, so callbacks see its writes from the moment it is ready;
		// the engine releases it where nothing follows (see
		// engine.Partition.recover).
		KeepConsumer: true,
	})
}

// tableUpdate adapts an UpdateCallback; DefaultUpdate becomes nil so the table
// takes its faster built-in path.
func tableUpdate(cb UpdateCallback) table.Update {
	if cb == nil || reflect.ValueOf(cb).Pointer() == reflect.ValueOf(UpdateCallback(DefaultUpdate)).Pointer() {
		return nil
	}
	return func(st storage.Storage, rec *table.Record) (err error) {
		// A panic fails the record like an error: the table reports it as
		// an *table.UpdateError naming topic, partition, offset and key,
		// and writes nothing of the record's batch.
		defer func() {
			if r := recover(); r != nil {
				err = engine.PanicError("update callback", r)
			}
		}()
		ctx := DefaultUpdateContext{
			topic:     Stream(rec.Topic),
			partition: rec.Partition,
			offset:    rec.Offset,
			headers:   rec.Headers,
			timestamp: rec.Timestamp,
		}
		return cb(ctx, st, rec.Key, rec.Value)
	}
}

// Run runs the processor until ctx is cancelled or an error occurs, and
// returns only after every goroutine it started has ended, the producer is
// flushed, offsets are committed and stores are closed, a callback that ran
// past WithPartitionStopTimeout included. A cancelled ctx gives nil; a
// failed message gives a *MessageError. With WithRestartOnError it restarts
// after a failure and returns only on cancel, a permanent error or when the
// restart policy gives up.
func (p *Processor) Run(ctx context.Context) (rerr error) {
	if !p.started.CompareAndSwap(false, true) {
		return ErrProcessorAlreadyRun
	}
	ctx, cancel := context.WithCancel(ctx)
	p.errMu.Lock()
	p.cancel = cancel
	p.errMu.Unlock()
	defer func() {
		cancel()
		p.errMu.Lock()
		if rerr != nil {
			p.errs = append(p.errs, rerr)
		}
		switch len(p.errs) {
		case 0:
		case 1:
			p.err = p.errs[0] // unjoined, so a caller may type-assert it
		default:
			p.err = errors.Join(p.errs...)
		}
		rerr = p.err
		p.errMu.Unlock()
		p.state.SetState(ProcStateStopped)
		close(p.done)
	}()

	// The clients and the stores serve every attempt: they are closed
	// when Run returns, the stores first.
	defer func() { rerr = errors.Join(rerr, p.disconnect()) }()
	p.stores = stores.New(func(topic string, partition int32) *table.Partition {
		return p.newTablePartition(topic, partition, p.opts.updateCallback)
	})
	defer func() {
		if n := p.stores.Abandoned(); n > 0 {
			p.log.Printf("waiting for %d table(s) of partitions that missed their stop deadline: Run returns once the callbacks still running return", n)
		}
		if err := p.stores.Close(); err != nil {
			rerr = errors.Join(rerr, fmt.Errorf("processor %q: closing the local tables: %w", p.graph.Group(), err))
		}
	}()

	var lookups sync.WaitGroup
	defer lookups.Wait()
	defer cancel()
	for topic, v := range p.lookups {
		lookups.Add(1)
		go func() {
			defer lookups.Done()
			if err := v.Run(ctx); err != nil {
				// A view runs once: no restart brings it back.
				p.fail(Permanent(fmt.Errorf("running the view of lookup table %s: %w", topic, err)))
			}
		}()
	}
	if p.opts.restart != nil {
		return p.supervise(ctx)
	}
	return p.runAttempt(ctx)
}

// connect builds the clients the partitions share.
func (p *Processor) connect() error {
	// Set only once all are built: the producer tells an attempt after a
	// failed connect that they are not.
	consumer, err := p.opts.builders.consumerSarama(p.brokers, p.opts.clientID)
	if err != nil {
		return fmt.Errorf("processor %q: building the table consumer: %w", p.graph.Group(), err)
	}
	tmgr, err := p.opts.builders.topicmgr(p.brokers)
	if err != nil {
		consumer.Close()
		return fmt.Errorf("processor %q: building the topic manager: %w", p.graph.Group(), err)
	}
	producer, err := p.opts.builders.producer(p.brokers, p.opts.clientID, guardHasher(p.opts.hasher))
	if err != nil {
		consumer.Close()
		tmgr.Close()
		return fmt.Errorf("processor %q: building the producer: %w", p.graph.Group(), err)
	}
	p.consumer, p.tmgr, p.producer = consumer, tmgr, producer
	return nil
}

// disconnect closes the shared clients; the producer last but one, after
// every partition stopped, so pending writes are flushed.
func (p *Processor) disconnect() error {
	if p.producer == nil {
		return nil // never connected
	}
	var errs []error
	if err := p.producer.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the producer: %w", err))
	}
	if err := p.consumer.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the table consumer: %w", err))
	}
	if err := p.tmgr.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the topic manager: %w", err))
	}
	return errors.Join(errs...)
}

func (p *Processor) waitForLookups(ctx context.Context) {
	for _, v := range p.lookups {
		select {
		case <-v.WaitRunning():
		case <-ctx.Done():
			// A cancel is a graceful stop at any point of Run (goka returns
			// an error here); a lookup that failed was recorded by fail.
			return
		}
	}
}

// consume joins the consumer group and runs one session after the other
// until ctx is cancelled or a partition fails.
func (p *Processor) consume(ctx context.Context, group *engine.Group) error {
	cg, err := p.buildConsumerGroup()
	if err != nil {
		return fmt.Errorf("processor %q: building the consumer group: %w", p.graph.Group(), err)
	}
	errsDone := make(chan struct{})
	go func() {
		defer close(errsDone)
		for err := range cg.Errors() {
			p.log.Printf("consumer group error: %v", err)
		}
	}()
	consumeErr := group.Consume(ctx, cg)
	closeErr := cg.Close()
	<-errsDone
	if closeErr != nil {
		p.log.Printf("closing the consumer group: %v", closeErr)
	}
	// A partition's failure was recorded by fail; Run returns it.
	return consumeErr
}

// fail records a fatal error and ends Run's attempt: Run returns it, or,
// with WithRestartOnError, restarts.
func (p *Processor) fail(err error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	p.failLocked(err)
}

// failLocked is fail with errMu held. A permanent error ends Run, not only
// the attempt: it may come between two attempts (a lookup's view), where no
// attempt would notice it.
func (p *Processor) failLocked(err error) {
	if len(p.errs) == 0 {
		p.errs = append(p.errs, err)
	}
	switch {
	case p.abort != nil && !IsPermanent(err):
		p.abort()
	case p.cancel != nil:
		p.cancel()
	}
}

func (p *Processor) firstErr() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if len(p.errs) > 0 {
		return p.errs[0]
	}
	return nil
}

// Stop cancels Run and returns at once; wait on Done for Run to end. Unlike
// goka's, it does nothing when Run was never called.
func (p *Processor) Stop() {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if p.cancel != nil {
		p.cancel()
	}
}

// Done is closed when Run has returned.
func (p *Processor) Done() <-chan struct{} { return p.done }

// Error returns what Run returned, once it has.
func (p *Processor) Error() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

// Graph returns the processor's group graph.
func (p *Processor) Graph() *GroupGraph { return p.graph }

// StateReader gives read access to the processor's state.
func (p *Processor) StateReader() StateReader { return p.state }

// Recovered reports whether every assigned partition is restored and running.
func (p *Processor) Recovered() bool { return p.state.IsState(ProcStateRunning) }

// Get returns the value of key in the group table, read from this instance's
// local copy. It fails for a stateless processor and for keys of partitions
// this instance does not hold (neither assigned nor hot standby).
func (p *Processor) Get(key string) (interface{}, error) {
	g := p.compiled
	if g.table == "" {
		return nil, fmt.Errorf("processor %q: can't get a value from a stateless processor", p.graph.Group())
	}
	partition, err := safeHashPartition(p.opts.hasher, key, p.numPartitions)
	if err != nil {
		return nil, err
	}
	var pp *engine.Partition
	ok := false
	if group := p.group.Load(); group != nil {
		pp, ok = group.Partition(partition)
	}
	if !ok || !pp.HasTable() {
		return nil, fmt.Errorf("processor %q: this processor does not contain partition %d of key %q", p.graph.Group(), partition, key)
	}
	st := pp.TableRows()
	if st == nil {
		return nil, fmt.Errorf("processor %q: partition %d of key %q is still opening its local table: %w", p.graph.Group(), partition, key, ErrPartitionNotReady)
	}
	data, err := st.Get(key)
	if err != nil {
		return nil, fmt.Errorf("processor %q: reading key %q from partition %d: %w", p.graph.Group(), key, partition, err)
	}
	if data == nil {
		return nil, nil
	}
	value, err := safeDecode(g.tableCodec, data)
	if err != nil {
		return nil, fmt.Errorf("processor %q: decoding key %q of table %s: %w", p.graph.Group(), key, g.table, err)
	}
	return value, nil
}

// WaitForReady blocks until the processor runs with every assigned partition
// recovered, or Run ended. With WithRestartOnError it waits through the
// failures being healed.
func (p *Processor) WaitForReady() error { return p.WaitForReadyContext(context.Background()) }

// WaitForReadyContext is WaitForReady that gives up when ctx is done.
func (p *Processor) WaitForReadyContext(ctx context.Context) error {
	if p.opts.restart != nil {
		return p.waitReadyHealing(ctx)
	}
	for _, st := range []State{ProcStateStarting, ProcStateRunning} {
		select {
		case <-p.state.WaitForStateMin(st):
		case <-p.done:
			return p.Error()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, pp := range p.partitions() {
		select {
		case <-pp.State().WaitForStateMin(PPStateRunning):
		case <-p.done:
			return p.Error()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// A session whose setup failed still reaches Running (as in goka) on
	// its way to stopping: report the failure, not readiness.
	return p.firstErr()
}

// Stats returns a snapshot of the processor's partitions and lookups.
func (p *Processor) Stats() *ProcessorStats { return p.StatsWithContext(context.Background()) }

// StatsWithContext is Stats; ctx bounds the collection of lookup stats.
func (p *Processor) StatsWithContext(ctx context.Context) *ProcessorStats {
	stats := &ProcessorStats{Group: make(map[int32]*PartitionProcStats), Lookup: make(map[string]*ViewStats)}
	for _, pp := range p.partitions() {
		stats.Group[pp.ID()] = partitionStats(pp)
	}
	for topic, v := range p.lookups {
		stats.Lookup[topic] = v.Stats(ctx)
	}
	return stats
}

// VisitAll calls the visitor name for every key of every active partition.
func (p *Processor) VisitAll(ctx context.Context, name string, meta interface{}) error {
	_, err := p.VisitAllWithStats(ctx, name, meta)
	return err
}

// VisitAllWithStats is VisitAll that also returns how many keys were visited.
func (p *Processor) VisitAllWithStats(ctx context.Context, name string, meta interface{}) (int64, error) {
	if p.compiled.table == "" {
		return 0, fmt.Errorf("processor %q: cannot visit values in a stateless processor", p.graph.Group())
	}
	if p.compiled.plan.Visitors[name] == nil {
		return 0, fmt.Errorf("processor %q: visitor %q is not defined", p.graph.Group(), name)
	}
	if err := ctx.Err(); err != nil {
		// Checked here: once visits are queued, a done ctx and a finished
		// visit race, and either may win.
		return 0, err
	}
	var active []*engine.Partition
	for _, pp := range p.partitions() {
		if pp.Role() == engine.RoleActive {
			active = append(active, pp)
		}
	}

	var visited int64
	errs := make([]error, len(active))
	var wg sync.WaitGroup
	for i, pp := range active {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pp.VisitValues(ctx, name, meta, &visited)
		}()
	}
	wg.Wait()
	return atomic.LoadInt64(&visited), errors.Join(errs...)
}
