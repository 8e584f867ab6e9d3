package engine

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
	"github.com/seed-b2c684ed/goka/internal/signal"
	"github.com/seed-b2c684ed/goka/internal/stores"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/internal/tablecache"
)

// The states of a partition, in lifecycle order (the API's PPState values).
const (
	PartIdle signal.State = iota
	PartRecovering
	PartRunning
	PartStopping
	PartStopped
)

// Partition runs one partition of a processor in one role: its tables and,
// when active, the goroutine that owns its messages (see the package doc for
// the message path and the failure-and-stop path).
type Partition struct {
	partition int32
	role      Role
	plan      *Plan
	cfg       *Config
	log       Logger

	// table and joins come from the processor's store registry, which
	// keeps them open from one session to the next (see internal/stores);
	// tableEntry is the registry's entry of table.
	table      *table.Partition // nil when stateless
	tableEntry *stores.Entry
	// entries are the registry entries of table and joins, whose stores
	// may wait for their predecessors' close (see stores.Entry.Wait).
	entries []*stores.Entry
	joins   map[string]*table.Partition

	input  chan *sarama.ConsumerMessage
	visits chan *visitRequest
	// mark commits an offset: the consumer group session's MarkOffset.
	mark     func(topic string, offset int64)
	trackers map[string]*commit.Tracker // owned by the run goroutine

	state *signal.Signal
	// ctx ends when the partition stops, for any reason: Stop, the end of
	// the session's context, or a failure. Every goroutine of the
	// partition watches it and nothing else. Set by Start.
	ctx    context.Context
	cancel context.CancelFunc
	// failed is the partition's first failure, recorded before ctx is
	// cancelled for it; a failure after the stop (a write refused while
	// Stop waits for it) is recorded too.
	failed atomic.Pointer[failure]
	wg     sync.WaitGroup // the goroutines Start started
	onFail func(error)

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
	// deferred are the commits deferred by callbacks and not released.
	deferred *commit.Watch
	// leftUncommitted is set by process when it returns nil for a message it
	// leaves uncommitted (the partition stops during its retries), so that
	// exactly-once does not add its offset to the transaction; owned by the
	// run goroutine.
	leftUncommitted bool
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

	// started is closed once the group's Start of the partition returned:
	// ConsumeClaim waits for it before it touches ctx.
	started chan struct{}

	stopOnce sync.Once
	stopErr  error
	// abandoned is set when Stop gave up on a callback that ran past the
	// stop deadline.
	abandoned atomic.Bool
}

// failure is a partition's first error.
type failure struct{ err error }

type visitRequest struct {
	key  string
	name string
	meta any
	cb   Handler
	done func(err error)
}

// NewPartition returns a partition of the processor in role, not started.
// mark commits an offset; it is nil unless the role is active.
func NewPartition(cfg *Config, partition int32, role Role, mark func(topic string, offset int64)) *Partition {
	plan := cfg.Plan
	p := &Partition{
		partition:      partition,
		role:           role,
		plan:           plan,
		cfg:            cfg,
		log:            cfg.PartitionLog(partition),
		joins:          make(map[string]*table.Partition, len(plan.Joins)),
		input:          make(chan *sarama.ConsumerMessage, cfg.ChannelSize),
		visits:         make(chan *visitRequest, 100),
		mark:           mark,
		trackers:       make(map[string]*commit.Tracker),
		state:          signal.New(PartIdle, PartRecovering, PartRunning, PartStopping, PartStopped),
		onFail:         cfg.OnFail,
		inStats:        make(map[string]*InputStats),
		lastTimestamps: make(map[string]time.Time),
		outStat:        make(map[string]*OutputStats),
		claims:         make(map[string]sarama.ConsumerGroupClaim),
		started:        make(chan struct{}),
	}
	p.deferred = p.newDeferredWatch()
	p.acked.Store(-1)
	if plan.Table != "" {
		p.tableEntry = cfg.Stores.Acquire(plan.Table, partition)
		p.table = p.tableEntry.Table
		p.entries = append(p.entries, p.tableEntry)
	}
	for _, topic := range plan.Joins {
		entry := cfg.Stores.Acquire(topic, partition)
		p.joins[topic] = entry.Table
		p.entries = append(p.entries, entry)
	}
	p.metrics = cfg.Metrics.Partition(partition, p.inputTopics(), p.outputTopics())
	return p
}

// ID returns the partition's number.
func (p *Partition) ID() int32 { return p.partition }

// Role returns what the partition does on this instance.
func (p *Partition) Role() Role { return p.role }

// State returns the partition's state (the Part values).
func (p *Partition) State() *signal.Signal { return p.state }

// HasTable reports whether the group is stateful.
func (p *Partition) HasTable() bool { return p.table != nil }

// TableRows returns what the group table is read and written through: the
// cache of a running active partition, else the store itself; nil while
// the store is not open.
func (p *Partition) TableRows() TableRows {
	if rows := p.rows.Load(); rows != nil {
		return rows
	}
	if st := p.table.Storage(); st != nil {
		return st
	}
	return nil
}

// TableRows is the part of a store callbacks use.
type TableRows interface {
	Get(key string) ([]byte, error)
	Set(key string, value []byte) error
	Delete(key string) error
}

// tables returns the group table (if any) and the joins.
func (p *Partition) tables() []*table.Partition {
	var all []*table.Partition
	if p.table != nil {
		all = append(all, p.table)
	}
	for _, jt := range p.joins {
		all = append(all, jt)
	}
	return all
}

// Recovered reports whether the partition's tables are restored and it
// processes (or, passive, follows) its partition.
func (p *Partition) Recovered() bool { return p.state.IsState(PartRunning) }

// Start restores the partition's tables, cancelled by setupCtx, then starts
// the goroutines that run until ctx is cancelled, Stop is called or the
// partition fails.
func (p *Partition) Start(setupCtx, ctx context.Context) error {
	p.state.SetState(PartRecovering)
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.stopMetrics = p.metrics.Watch(p.metricsSource())

	var applied int64
	if p.table != nil {
		applied = p.table.Stats().Input.Count
	}
	if err := p.recover(setupCtx); err != nil {
		if setupCtx.Err() != nil {
			// The session ended while the tables were restoring (a
			// rebalance or a shutdown): not a failure. The next session
			// restores again.
			return nil
		}
		return fmt.Errorf("error setting up (partition=%d): %w", p.partition, err)
	}
	if setupCtx.Err() != nil {
		return nil
	}
	if p.role == RoleRecoverOnly {
		// Restored, with nothing to run: say so rather than stay
		// Recovering.
		p.state.SetState(PartRunning)
		return nil
	}
	switch p.role {
	case RoleActive:
		if p.table != nil {
			// From here on the store is written before Kafka acknowledges,
			// so it is marked dirty until a clean Stop (see table.DirtyOffset).
			clean, err := p.table.MarkDirty()
			if err != nil {
				return fmt.Errorf("error setting up (partition=%d): %w", p.partition, err)
			}
			p.cleanOffset, p.markedDirty = clean, true
			// The rows a previous session cached stay valid while nobody
			// else wrote the table: the restore applied no record.
			rows := p.tableEntry.Rows
			if rows == nil || p.table.Stats().Input.Count != applied {
				if rows != nil {
					rows.Release()
				}
				rows = tablecache.New(p.table.Storage(), tablecache.Config{KeepClean: p.cfg.CacheRows, Budget: p.cfg.RowBudget})
			}
			p.tableEntry.Rows = nil
			p.rows.Store(rows)
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := p.run(); err != nil {
				p.fail(err)
			}
		}()
	}
	p.state.SetState(PartRunning)
	return nil
}

// recover opens and restores every table of the partition in parallel. A
// table kept open from an earlier session reads only what was written since.
// A table the partition follows is followed as soon as its own restore
// ended, taking over the restoring consumer: waiting for the slowest table
// would leave its records unread meanwhile and, once the consumer's buffer
// is full, hold back every partition fetched through the same broker.
func (p *Partition) recover(ctx context.Context) error {
	for _, e := range p.entries {
		// A partition left behind by an earlier session closes its
		// stores only once its late callback returned.
		if err := e.Wait(ctx); err != nil {
			return fmt.Errorf("waiting for the stores of partition %d to be closed by a stop that missed its deadline: %w", p.partition, err)
		}
	}
	tables := p.tables()
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
			if errs[i] = p.recoverTable(ctx, t); errs[i] == nil && ctx.Err() == nil {
				p.restored(t)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// restored hands a table whose restore ended to what comes next in the
// partition's role: a follower, or, where nothing follows it, nobody.
func (p *Partition) restored(t *table.Partition) {
	switch {
	case p.role == RoleRecoverOnly:
		t.ReleaseConsumer()
	case t != p.table:
		p.goFollow(t) // a join
	case p.role == RolePassive:
		if rows := p.tableEntry.Rows; rows != nil {
			rows.Release() // following changes the store under it
		}
		p.tableEntry.Rows = nil
		p.goFollow(t)
	}
	// The active group table's parked consumer goes with MarkDirty: the
	// partition writes that table itself.
}

// recoverTable restores one table, retrying Kafka errors (not storage or
// update errors) as setup retries them.
func (p *Partition) recoverTable(ctx context.Context, t *table.Partition) error {
	_, err := retrySetup(ctx, table.Retriable, func() (struct{}, error) {
		return struct{}{}, t.Recover(ctx)
	}, func(err error) { p.log.Printf("restoring a table failed, retrying: %v", err) })
	return err
}

// goFollow keeps a table caught up until the partition stops, restarting
// after errors with the processor's backoff.
func (p *Partition) goFollow(t *table.Partition) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		backoff, err := p.cfg.Backoff()
		if err != nil {
			p.fail(fmt.Errorf("building the backoff: %w", err))
			return
		}
		err = table.Retry(p.ctx, t.Follow, backoff.Duration, backoff.Reset, func(err error) {
			p.metrics.Error(metrics.ErrTable)
			p.log.Printf("following a table failed, retrying: %v", err)
		})
		if err != nil && p.ctx.Err() == nil {
			p.fail(err)
		}
	}()
}

// run is the partition's goroutine, the only one that processes its
// messages: it takes the messages of every input and of the loop, and the
// visits, one at a time, until the partition's context ends.
func (p *Partition) run() error {
	done := p.ctx.Done()
	for {
		// Fast path while messages wait: a plain receive costs a fraction
		// of the select below, which a profile showed on every message.
		// Stopping is still noticed within the channel's few messages:
		// ConsumeClaim stops feeding once the partition's context ends.
		select {
		case msg := <-p.input:
			if p.ctx.Err() != nil {
				return nil
			}
			if err := p.processInTxn(msg); err != nil {
				return err
			}
			continue
		default:
		}
		select {
		case <-done:
			return nil
		case msg := <-p.input:
			if err := p.processInTxn(msg); err != nil {
				return err
			}
		case v := <-p.visits:
			p.visitInTxn(v)
		}
	}
}

func (p *Partition) tracker(topic string) *commit.Tracker {
	t, ok := p.trackers[topic]
	if !ok {
		t = new(commit.Tracker)
		p.trackers[topic] = t
	}
	return t
}

// process handles one message: decode it, call its callback, and let its
// completion commit it. A decoding or a callback that fails goes to the
// route's error policy (see error_policy.go), which retries it, gives it up
// in its place or stops the partition.
func (p *Partition) process(msg *sarama.ConsumerMessage) error {
	tracker := p.tracker(msg.Topic)
	p.countInput(msg)

	if msg.Value == nil && p.cfg.NilHandling == NilIgnore {
		if next, moved := tracker.Done(tracker.Start(msg.Offset)); moved {
			p.mark(msg.Topic, next)
		}
		return nil
	}
	route, ok := p.plan.Routes[msg.Topic]
	if !ok {
		return p.messageError(msg, fmt.Errorf("no callback for topic %s", msg.Topic))
	}
	ticket := tracker.Start(msg.Offset)
	p.inflight.add()
	m, err := p.attempt(msg, tracker, ticket, &route)
	if err != nil && route.Policy.Retries > 0 {
		if m, err = p.retry(m, &route, err); m == nil {
			// The partition stopped during a retry's wait: the message
			// stays uncommitted, for the next owner.
			p.inflight.done()
			p.leftUncommitted = true
			return nil
		}
	}
	if err != nil {
		return p.giveUp(m, &route.Policy, err)
	}
	if p.abandoned.Load() {
		// The partition's stop gave up on this callback: its message is
		// not committed and the next owner processes it again, so what it
		// wrote is dropped rather than sent a second time.
		m.discard()
		return nil
	}
	if err := m.release(); err != nil {
		m.finish(err)
		return p.messageError(msg, err)
	}
	if rows := p.rows.Load(); rows != nil && !p.cfg.CacheRows && len(p.input) == 0 {
		// Under the tester, which reads stores directly once everything is
		// committed, write the cached changes whenever no message waits.
		// Elsewhere they wait for a full batch, a visit or the stop.
		if err := rows.Flush(); err != nil {
			err = fmt.Errorf("writing the local table %s: %w", p.plan.Table, err)
			m.finish(err)
			return p.messageError(msg, err)
		}
	}
	m.finish(nil)
	return nil
}

// attempt decodes a message and calls its callback once, as a new Message
// of the message's commit ticket: an attempt before it that failed left
// nothing in it (see Partition.call).
func (p *Partition) attempt(msg *sarama.ConsumerMessage, tracker *commit.Tracker, ticket commit.Ticket, route *Route) (*Message, error) {
	m := &Message{
		p:         p,
		msg:       msg,
		tracker:   tracker,
		topic:     msg.Topic,
		key:       string(msg.Key),
		offset:    msg.Offset,
		timestamp: msg.Timestamp,
		ticket:    ticket,
	}
	m.pending.Store(1)
	var value any
	if msg.Value != nil || p.cfg.NilHandling == NilDecode {
		var err error
		if value, err = route.Decode(msg.Value); err != nil {
			m.returned.Store(true) // no callback runs
			return m, fmt.Errorf("decoding the message: %w", err)
		}
	}
	begin := p.metrics.Begin()
	err := p.call(m, route.Handle, value)
	p.metrics.CallbackDone(msg.Topic, begin)
	return m, err
}

// settle ends a message or a visit once, when everything it waited for
// completed (err nil) or at its first error: a message's offset may then be
// committed, or its error stops the partition.
func (p *Partition) settle(m *Message, err error) {
	defer p.inflight.done()
	if m.visit != nil {
		m.visit.done(err)
		return
	}
	if err != nil {
		p.fail(p.messageError(m.msg, err))
		return
	}
	if next, moved := m.tracker.Done(m.ticket); moved {
		p.mark(m.msg.Topic, next)
	}
}

// call runs a callback and turns its panics, Fail included, into errors.
// A callback that fails leaves nothing: its held writes are dropped.
func (p *Partition) call(m *Message, h Handler, value any) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		m.discard()
		if f, ok := r.(abort); ok {
			err = f.err
			return
		}
		err = PanicError("callback", r)
	}()
	h(m, value)
	return nil
}

func (p *Partition) messageError(msg *sarama.ConsumerMessage, err error) error {
	var me *MessageError
	if errors.As(err, &me) {
		return err
	}
	return &MessageError{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Key: string(msg.Key), Err: err}
}

// fail records the partition's first error, ends its context and stops the
// processor. It is the only way a partition fails, from whichever
// goroutine the error arises in.
func (p *Partition) fail(err error) {
	if p.cfg.Txn != nil {
		err = p.cfg.Txn.Poison(err)
	}
	if !p.failed.CompareAndSwap(nil, &failure{err: err}) {
		// An echo of the first error (a message still in flight), or a
		// second one: the partition is failing already.
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.metrics.Error(errorKind(err))
	p.onFail(err)
}

// err returns the partition's first failure, if any.
func (p *Partition) err() error {
	if f := p.failed.Load(); f != nil {
		return f.err
	}
	return nil
}
