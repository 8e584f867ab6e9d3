package goka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/commit"
	"github.com/seed-b2c684ed/goka/internal/metrics"
	"github.com/seed-b2c684ed/goka/internal/stores"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/internal/tablecache"
)

// MessageError is the error a processor stops with when a message fails: its
// callback panicked or called Fail, it could not be decoded, or something it
// emitted or wrote was refused. The message and everything after it in its
// partition are not committed, so a restart processes them again.
type MessageError struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Err       error
}

// Error names the message and the cause.
func (e *MessageError) Error() string {
	return fmt.Sprintf("error processing message (topic=%s, partition=%d, offset=%d, key=%q): %v",
		e.Topic, e.Partition, e.Offset, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *MessageError) Unwrap() error { return e.Err }

// ErrVisitAborted is returned by VisitAll when a partition stopped (rebalance
// or shutdown) before every key was visited.
var ErrVisitAborted = errors.New("VisitAll aborted due to context cancel or rebalance")

// PartitionProcessor runs one partition of a processor: its tables and, when
// active, the goroutine that calls the callbacks for its messages. It is
// created by the processor for every assigned partition (and, with hot
// standby, for every other partition of the group table).
type PartitionProcessor struct {
	partition int32
	mode      PPRunMode
	graph     *GroupGraph
	opts      *poptions
	log       logger
	producer  Producer
	lookups   map[string]*View

	// table and joins come from the processor's store registry, which
	// keeps them open from one session to the next (see internal/stores);
	// tableEntry is the registry's entry of table.
	table      *table.Partition // nil when stateless
	tableEntry *stores.Entry
	// entries are the registry entries of table and joins, whose stores
	// may wait for their predecessors' close (see stores.Entry.Wait).
	entries    []*stores.Entry
	tableTopic string
	loopTopic  string
	joins      map[string]*table.Partition
	outputs    map[string]Codec

	defaultHeaders Headers

	input  chan *sarama.ConsumerMessage
	visits chan *visitRequest
	// mark commits an offset: the consumer group session's MarkOffset.
	mark     func(topic string, offset int64)
	trackers map[string]*commit.Tracker // owned by the run goroutine

	state  *Signal
	runCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	onFail func(error)

	failMu     sync.Mutex
	failErr    error
	failed     chan struct{}
	failedFlag atomic.Bool // set with failed closed, for the message loop's fast path

	inflight inflightCounter
	// held are the writes of the running callback, sent when it returns (see
	// heldWrite); heldMu orders them with the callback's end.
	heldMu sync.Mutex
	held   []heldWrite

	acked atomic.Int64 // offset of the last acknowledged table write
	// cleanOffset is the table offset stored before the partition marked its
	// store dirty, valid when markedDirty is set (not when passive or
	// stateless). It may be any offset, -1 included: a partition with
	// nothing written stores -1 at a clean stop.
	cleanOffset int64
	markedDirty bool
	// rows caches the group table of an active partition in front of its
	// store (see internal/tablecache); nil until the partition runs, and for
	// passive partitions, which only read their store.
	rows atomic.Pointer[tablecache.Cache]
	// rowBudget is the processor's, shared by the row caches of all its
	// partitions.
	rowBudget *tablecache.Budget
	// deferred are the commits deferred by callbacks and not released.
	deferred *commit.Watch
	// tableWriteFailed is set when a table write was refused: the local store
	// then holds a value the topic does not, and must stay marked dirty.
	tableWriteFailed atomic.Bool

	statsMu        sync.Mutex
	inStats        map[string]*InputStats
	lastTimestamps map[string]time.Time // per input topic, for InputStats.Delay
	outStat        map[string]*OutputStats
	// claims are the consumer group claims of the partition's topics, whose
	// current high-water marks give the consumer lag.
	claims map[string]sarama.ConsumerGroupClaim

	metrics     *metrics.Partition // nil: metrics off
	stopMetrics func()             // set by Start

	stopOnce sync.Once
	stopErr  error
	// registry holds the partition's tables (nil for a partition driven
	// alone); abandoned is set when Stop gave up on a callback that ran
	// past the stop deadline.
	registry  *stores.Registry
	abandoned atomic.Bool
}

type visitRequest struct {
	key  string
	name string
	meta interface{}
	cb   ProcessCallback
	done func(err error)
}

func newPartitionProcessor(p *Processor, partition int32, mode PPRunMode, mark func(string, int64)) *PartitionProcessor {
	gg := p.graph
	pp := &PartitionProcessor{
		partition:      partition,
		mode:           mode,
		graph:          gg,
		opts:           p.opts,
		log:            p.log.Prefix(fmt.Sprintf("PartitionProcessor (%d)", partition)).With("partition", partition),
		producer:       p.producer,
		lookups:        p.lookups,
		joins:          make(map[string]*table.Partition),
		outputs:        make(map[string]Codec),
		defaultHeaders: p.opts.defaultHeaders,
		input:          make(chan *sarama.ConsumerMessage, p.opts.partitionChannelSize),
		visits:         make(chan *visitRequest, 100),
		mark:           mark,
		trackers:       make(map[string]*commit.Tracker),
		state:          NewSignal(PPStateIdle, PPStateRecovering, PPStateRunning, PPStateStopping, PPStateStopped),
		onFail:         p.fail,
		failed:         make(chan struct{}),
		inStats:        make(map[string]*InputStats),
		lastTimestamps: make(map[string]time.Time),
		outStat:        make(map[string]*OutputStats),
		claims:         make(map[string]sarama.ConsumerGroupClaim),
		registry:       p.stores,
		rowBudget:      p.bounds.rows,
	}
	pp.deferred = pp.newDeferredWatch()
	pp.acked.Store(-1)
	if e := gg.GroupTable(); e != nil {
		pp.tableTopic = e.Topic()
		pp.tableEntry = p.acquireTable(e.Topic(), partition)
		pp.table = pp.tableEntry.Table
		pp.entries = append(pp.entries, pp.tableEntry)
	}
	if e := gg.LoopStream(); e != nil {
		pp.loopTopic = e.Topic()
	}
	for _, e := range gg.JointTables() {
		entry := p.acquireTable(e.Topic(), partition)
		pp.joins[e.Topic()] = entry.Table
		pp.entries = append(pp.entries, entry)
	}
	for _, e := range gg.OutputStreams() {
		pp.outputs[e.Topic()] = e.Codec()
	}
	pp.metrics = p.metrics.Partition(partition, pp.inputTopics(), pp.outputTopics())
	return pp
}

// tableRows returns what callbacks read and write the group table through:
// the cache of a running active partition, else the store itself.
func (pp *PartitionProcessor) tableRows() tableReadWriter {
	if rows := pp.rows.Load(); rows != nil {
		return rows
	}
	if st := pp.table.Storage(); st != nil {
		return st
	}
	return nil
}

// tableReadWriter is the part of a store callbacks use.
type tableReadWriter interface {
	Get(key string) ([]byte, error)
	Set(key string, value []byte) error
	Delete(key string) error
}

// tables returns the group table (if any) and the joins.
func (pp *PartitionProcessor) tables() []*table.Partition {
	var all []*table.Partition
	if pp.table != nil {
		all = append(all, pp.table)
	}
	for _, jt := range pp.joins {
		all = append(all, jt)
	}
	return all
}

// Recovered reports whether the partition's tables are restored and it
// processes (or, passive, follows) its partition.
func (pp *PartitionProcessor) Recovered() bool { return pp.state.IsState(PPStateRunning) }

// Start restores the partition's tables, cancelled by setupCtx, then starts
// the goroutines that run until ctx is cancelled or Stop is called.
func (pp *PartitionProcessor) Start(setupCtx, ctx context.Context) error {
	pp.state.SetState(PPStateRecovering)
	pp.runCtx, pp.cancel = context.WithCancel(ctx)
	pp.stopMetrics = pp.metrics.Watch(pp.metricsSource())

	var applied int64
	if pp.table != nil {
		applied = pp.table.Stats().Input.Count
	}
	if err := pp.recover(setupCtx); err != nil {
		if setupCtx.Err() != nil {
			// The session ended while the tables were restoring (a
			// rebalance or a shutdown): not a failure. The next session
			// restores again.
			return nil
		}
		return fmt.Errorf("error setting up (partition=%d): %w", pp.partition, err)
	}
	if setupCtx.Err() != nil {
		return nil
	}
	if pp.mode == runModeRecoverOnly {
		// Restored, with nothing to run: say so rather than stay
		// Recovering.
		pp.state.SetState(PPStateRunning)
		return nil
	}
	for _, jt := range pp.joins {
		pp.goFollow(jt)
	}
	switch pp.mode {
	case runModeActive:
		if pp.table != nil {
			// From here on the store is written before Kafka acknowledges,
			// so it is marked dirty until a clean Stop (see table.DirtyOffset).
			clean, err := pp.table.MarkDirty()
			if err != nil {
				return fmt.Errorf("error setting up (partition=%d): %w", pp.partition, err)
			}
			pp.cleanOffset, pp.markedDirty = clean, true
			// The rows a previous session cached stay valid while nobody
			// else wrote the table: the restore applied no record.
			rows := pp.tableEntry.Rows
			if rows == nil || pp.table.Stats().Input.Count != applied {
				if rows != nil {
					rows.Release()
				}
				rows = tablecache.New(pp.table.Storage(), tablecache.Config{KeepClean: pp.opts.cacheRows, Budget: pp.rowBudget})
			}
			pp.tableEntry.Rows = nil
			pp.rows.Store(rows)
		}
		pp.wg.Add(1)
		go func() {
			defer pp.wg.Done()
			if err := pp.run(); err != nil {
				pp.fail(err)
			}
		}()
	case runModePassive:
		if pp.table != nil {
			if rows := pp.tableEntry.Rows; rows != nil {
				rows.Release() // following changes the store under it
			}
			pp.tableEntry.Rows = nil
			pp.goFollow(pp.table)
		}
	}
	pp.state.SetState(PPStateRunning)
	return nil
}

// recover opens and restores every table of the partition in parallel. A
// table kept open from an earlier session reads only what was written since.
func (pp *PartitionProcessor) recover(ctx context.Context) error {
	for _, e := range pp.entries {
		// A partition left behind by an earlier session closes its
		// stores only once its late callback returned.
		if err := e.Wait(ctx); err != nil {
			return fmt.Errorf("waiting for the stores of partition %d to be closed by a stop that missed its deadline: %w", pp.partition, err)
		}
	}
	tables := pp.tables()
	errs := make([]error, len(tables))
	var wg sync.WaitGroup
	for i, t := range tables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := t.Open(ctx); err != nil {
				errs[i] = err
				return
			}
			errs[i] = pp.recoverTable(ctx, t)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// recoverTable restores one table, retrying Kafka errors (not storage or
// update errors) as setup retries them.
func (pp *PartitionProcessor) recoverTable(ctx context.Context, t *table.Partition) error {
	_, err := retrySetup(ctx, table.Retriable, func() (struct{}, error) {
		return struct{}{}, t.Recover(ctx)
	}, func(err error) { pp.log.Printf("restoring a table failed, retrying: %v", err) })
	return err
}

// goFollow keeps a table caught up until the partition stops, restarting
// after errors with the processor's backoff.
func (pp *PartitionProcessor) goFollow(t *table.Partition) {
	pp.wg.Add(1)
	go func() {
		defer pp.wg.Done()
		backoff, err := pp.opts.builders.backoff()
		if err != nil {
			pp.fail(fmt.Errorf("building the backoff: %w", err))
			return
		}
		err = table.Retry(pp.runCtx, t.Follow, backoff.Duration, backoff.Reset, func(err error) {
			pp.metrics.Error(metrics.ErrTable)
			pp.log.Printf("following a table failed, retrying: %v", err)
		})
		if err != nil && pp.runCtx.Err() == nil {
			pp.fail(err)
		}
	}()
}

// run is the partition's goroutine: it takes the messages of every input and
// of the loop, and the visits, one at a time.
func (pp *PartitionProcessor) run() error {
	for {
		// Fast path while messages wait: a plain receive costs a fraction
		// of the select below, which a profile showed on every message.
		// Stopping is still noticed within the channel's few messages:
		// ConsumeClaim stops feeding once the partition stops or fails.
		select {
		case msg := <-pp.input:
			if pp.stopped() {
				return nil
			}
			if err := pp.process(msg); err != nil {
				return err
			}
			continue
		default:
		}
		select {
		case <-pp.runCtx.Done():
			return nil
		case <-pp.failed:
			return nil
		case msg := <-pp.input:
			if err := pp.process(msg); err != nil {
				return err
			}
		case v := <-pp.visits:
			pp.visit(v)
		}
	}
}

// stopped reports whether the partition is stopping or failed. Both checks
// are atomic loads, cheap enough for every message.
func (pp *PartitionProcessor) stopped() bool {
	return pp.runCtx.Err() != nil || pp.failedFlag.Load()
}

func (pp *PartitionProcessor) tracker(topic string) *commit.Tracker {
	t, ok := pp.trackers[topic]
	if !ok {
		t = new(commit.Tracker)
		pp.trackers[topic] = t
	}
	return t
}

// process handles one message: decode it, call its callback, and let its
// completion commit it.
func (pp *PartitionProcessor) process(msg *sarama.ConsumerMessage) error {
	tracker := pp.tracker(msg.Topic)
	pp.countInput(msg)

	if msg.Value == nil && pp.opts.nilHandling == NilIgnore {
		if next, moved := tracker.Done(tracker.Start(msg.Offset)); moved {
			pp.mark(msg.Topic, next)
		}
		return nil
	}
	cb := pp.graph.callbackOf(msg.Topic)
	if cb == nil {
		return pp.messageError(msg, fmt.Errorf("no callback for topic %s", msg.Topic))
	}
	var value interface{}
	if msg.Value != nil || pp.opts.nilHandling == NilDecode {
		var err error
		if value, err = safeDecode(pp.graph.codecOf(msg.Topic), msg.Value); err != nil {
			return pp.messageError(msg, fmt.Errorf("decoding the message: %w", err))
		}
	}

	ctx := &messageContext{
		pp:        pp,
		msg:       msg,
		topic:     Stream(msg.Topic),
		key:       string(msg.Key),
		offset:    msg.Offset,
		timestamp: msg.Timestamp,
		ticket:    tracker.Start(msg.Offset),
	}
	ctx.pending.Store(1)
	ctx.onDone = func(ctx *messageContext, err error) {
		defer pp.inflight.done()
		if err != nil {
			pp.fail(pp.messageError(ctx.msg, err))
			return
		}
		if next, moved := tracker.Done(ctx.ticket); moved {
			pp.mark(ctx.msg.Topic, next)
		}
	}
	pp.inflight.add()
	begin := pp.metrics.Begin()
	err := pp.call(ctx, cb, value)
	pp.metrics.CallbackDone(msg.Topic, begin)
	if err == nil && pp.abandoned.Load() {
		// The partition's stop gave up on this callback: its message is
		// not committed and the next owner processes it again, so what it
		// wrote is dropped rather than sent a second time.
		ctx.discard()
		return nil
	}
	if err == nil {
		err = ctx.release()
	}
	if err != nil {
		ctx.finish(err)
		return pp.messageError(msg, err)
	}
	if rows := pp.rows.Load(); rows != nil && !pp.opts.cacheRows && len(pp.input) == 0 {
		// Under the tester, which reads stores directly once everything is
		// committed, write the cached changes whenever no message waits.
		// Elsewhere they wait for a full batch, a visit or the stop.
		if err := rows.Flush(); err != nil {
			err = fmt.Errorf("writing the local table %s: %w", pp.tableTopic, err)
			ctx.finish(err)
			return pp.messageError(msg, err)
		}
	}
	ctx.finish(nil)
	return nil
}

// call runs a callback and turns its panics, Fail included, into errors.
// A callback that fails leaves nothing: its held writes are dropped.
func (pp *PartitionProcessor) call(ctx *messageContext, cb ProcessCallback, value interface{}) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		ctx.discard()
		if f, ok := r.(failure); ok {
			err = f.err
			return
		}
		err = panicError("callback", r)
	}()
	cb(pp.opts.contextWrapper(ctx), value)
	return nil
}

func (pp *PartitionProcessor) messageError(msg *sarama.ConsumerMessage, err error) error {
	var me *MessageError
	if errors.As(err, &me) {
		return err
	}
	return &MessageError{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Key: string(msg.Key), Err: err}
}

// fail records the partition's first error and stops the processor.
func (pp *PartitionProcessor) fail(err error) {
	pp.failMu.Lock()
	first := pp.failErr == nil
	if first {
		pp.failErr = err
		pp.failedFlag.Store(true)
		close(pp.failed)
	}
	pp.failMu.Unlock()
	if first {
		// Counted once: the error that stopped the partition, not the
		// echoes of it from the messages still in flight.
		pp.metrics.Error(errorKind(err))
		pp.onFail(err)
	}
}

func (pp *PartitionProcessor) err() error {
	pp.failMu.Lock()
	defer pp.failMu.Unlock()
	return pp.failErr
}

// ackedTableOffset records the offset of an acknowledged group table write;
// acknowledgements may arrive out of order, the highest wins.
func (pp *PartitionProcessor) ackedTableOffset(offset int64) {
	for {
		cur := pp.acked.Load()
		if offset <= cur || pp.acked.CompareAndSwap(cur, offset) {
			return
		}
	}
}
