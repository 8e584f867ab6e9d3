package table

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/seed-b2c684ed/goka/internal/signal"
	"github.com/seed-b2c684ed/goka/storage"
)

// Defaults for the zero values of Config.
const (
	// DefaultMaxBatchRecords bounds the records of one batch.
	DefaultMaxBatchRecords = 4096
	// DefaultMaxBatchBytes bounds the keys and values buffered in one
	// batch.
	DefaultMaxBatchBytes = 4 << 20
	// DefaultIdleTimeout is how long Recover waits, with no record
	// arriving, before it asks Config.GapCheck whether the offsets still
	// missing below its target hold any record (they may be transaction
	// markers, which no consumer receives). Long enough to ride out a
	// partition leader change, whose retry backoff is 2 s in sarama.
	DefaultIdleTimeout = 5 * time.Second
	// DefaultProgressInterval is how often a Recover that receives nothing
	// logs that it still waits.
	DefaultProgressInterval = 5 * time.Second
)

// noOffset is what GetOffset returns for a store that never stored an
// offset; goka uses the same value.
const noOffset = -3

// Consumer starts partition consumers at explicit offsets;
// sarama.Consumer satisfies it.
type Consumer interface {
	ConsumePartition(topic string, partition int32, offset int64) (sarama.PartitionConsumer, error)
}

// Offsets tells where a partition begins and ends: GetOffset with
// sarama.OffsetOldest returns the first offset still in the topic, with
// sarama.OffsetNewest the high-water mark (the next offset to be written).
// The root package's TopicManager satisfies it.
type Offsets interface {
	GetOffset(topic string, partition int32, time int64) (int64, error)
}

// Config describes one partition of a table topic and how to keep it.
type Config struct {
	// Topic and Partition name the table partition; every error and log
	// line names them.
	Topic     string
	Partition int32
	// Builder builds the local store; required by Open.
	Builder storage.Builder
	// Consumer and Offsets are required by Recover and Follow.
	Consumer Consumer
	Offsets  Offsets
	// Update applies records; nil is the default update.
	Update Update
	// MaxBatchRecords and MaxBatchBytes bound a batch (zero: the defaults),
	// and with it the memory a partition uses, whatever the table's size.
	MaxBatchRecords int
	MaxBatchBytes   int
	// IdleTimeout: see DefaultIdleTimeout (zero: the default).
	IdleTimeout time.Duration
	// GapCheck proves that offsets Recover did not receive hold no data
	// record; nil: no gap is ever accepted and Recover waits for a record
	// at or beyond its target. See GapCheck.
	GapCheck GapCheck
	// ProgressInterval is how often a Recover that receives nothing logs
	// that it still waits (zero: DefaultProgressInterval).
	ProgressInterval time.Duration
	// Logf logs what the caller should know but that is not an error; nil
	// discards.
	Logf func(format string, args ...any)
	// Now is the clock of the stats; nil is time.Now.
	Now func() time.Time
	// KeepConsumer makes a successful Recover leave its partition consumer
	// running for the Follow that comes next, which takes it over and is
	// applying records at once: a new partition consumer starts fetching
	// only after sarama's subscription batching (100 ms) and the broker
	// consumer's fetch in flight. Set it where Follow comes right after
	// Recover: a parked consumer nobody drains holds back every partition
	// of its broker consumer once, for up to twice
	// Consumer.MaxProcessingTime, when its channel is full (sarama then
	// leaves it out of the fetches until it is drained). A consumer no
	// Follow takes is closed by Close and MarkDirty, or by the next Recover
	// or Follow when the store's offset no longer matches it. Without it
	// Recover stops its consumer and closes it in the background.
	KeepConsumer bool
	// RestoreLimit, shared by the partitions of a processor or a view,
	// bounds how many of them run Recover at once; nil: no bound.
	RestoreLimit *RestoreLimit
}

// withDefaults fills the zero values.
func (c Config) withDefaults() Config {
	if c.MaxBatchRecords <= 0 {
		c.MaxBatchRecords = DefaultMaxBatchRecords
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = DefaultProgressInterval
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Partition restores one partition of a table topic into a local store and
// keeps it up to date. See the package documentation for its lifecycle.
type Partition struct {
	cfg Config
	sig *signal.Signal

	openMu sync.Mutex // serialises Open

	mu     sync.Mutex // guards st, closed, busy, parked, closings
	st     storage.Storage
	closed bool
	busy   bool // a Recover or Follow is running
	// parked is the consumer a Recover left running for the next Follow
	// (Config.KeepConsumer); nil when there is none.
	parked *parkedConsumer
	// closings are the consumers being closed in the background, each
	// channel closed when its close has returned.
	closings []chan struct{}

	done      chan struct{}  // closed by Close to stop Recover and Follow
	ops       sync.WaitGroup // Open, Recover and Follow calls in progress
	closeOnce sync.Once

	statsMu sync.Mutex
	stats   statsState
}

// New returns a stopped partition; nothing is opened or started before
// Open.
func New(cfg Config) *Partition {
	return &Partition{
		cfg:  cfg.withDefaults(),
		sig:  signal.New(Stopped, Initializing, Connecting, Recovering, Preparing, Running),
		done: make(chan struct{}),
	}
}

// Signal returns the partition's state, for waiting on or observing it.
func (p *Partition) Signal() *signal.Signal { return p.sig }

// Storage returns the local store once Open succeeded, nil before. Reads may
// run concurrently with Recover and Follow and see whole batches; an active
// processor, which never follows its own table, writes to it directly.
// After Close every operation on it fails with storage.ErrClosed.
func (p *Partition) Storage() storage.Storage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// Stats returns a snapshot of the partition's statistics.
func (p *Partition) Stats() Stats {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	return p.stats.snapshot(p.sig.State(), p.cfg.Now())
}

// TrackWrite counts a write of n bytes that an active processor made to the
// table; it only feeds the stats.
func (p *Partition) TrackWrite(n int) {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	p.stats.writes.Count++
	p.stats.writes.Bytes += int64(n)
}

// errorf prefixes an error message with the partition's topic and number.
func (p *Partition) errorf(format string, args ...any) error {
	return fmt.Errorf("table: topic %q partition %d: "+format,
		append([]any{p.cfg.Topic, p.cfg.Partition}, args...)...)
}

// enter registers a call that Close must wait for; exclusive calls (Recover
// and Follow) also claim the right to apply records. The returned function
// ends the call.
func (p *Partition) enter(exclusive bool) (func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, p.errorf("%w", ErrClosed)
	}
	if exclusive {
		if p.busy {
			return nil, p.errorf("%w: recover or follow already running", ErrBusy)
		}
		p.busy = true
	}
	p.ops.Add(1)
	return func() {
		if exclusive {
			p.mu.Lock()
			p.busy = false
			p.mu.Unlock()
		}
		p.ops.Done()
	}, nil
}

// Open builds and opens the local store (state Initializing). It does
// nothing once the store is open. A builder cannot be interrupted, so ctx is
// only checked before building.
func (p *Partition) Open(ctx context.Context) error {
	leave, err := p.enter(false)
	if err != nil {
		return err
	}
	defer leave()
	p.openMu.Lock()
	defer p.openMu.Unlock()
	if p.Storage() != nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return p.errorf("open: %w", err)
	}
	if p.cfg.Builder == nil {
		return p.errorf("open: %w: no storage builder", ErrConfig)
	}
	p.sig.SetState(Initializing)
	st, err := p.cfg.Builder(p.cfg.Topic, p.cfg.Partition)
	if err == nil && st == nil {
		err = errors.New("builder returned no storage")
	}
	if err != nil {
		p.sig.SetState(Stopped)
		return p.errorf("build storage: %w", err)
	}
	if err := st.Open(); err != nil {
		p.sig.SetState(Stopped)
		return errors.Join(p.errorf("open storage: %w", err), st.Close())
	}
	p.logLayoutUpgrade(st)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.Join(p.errorf("open: %w", ErrClosed), st.Close())
	}
	p.st = st
	return nil
}

// logLayoutUpgrade says what opening the store did to a store found in the
// layout of goka and earlier versions, which the storage cannot log itself.
func (p *Partition) logLayoutUpgrade(st storage.Storage) {
	lr, ok := st.(storage.LayoutReporter)
	if !ok {
		return
	}
	switch upgrade := lr.LayoutUpgrade(); upgrade {
	case storage.LayoutMigrated:
		p.cfg.Logf("table: topic %q partition %d: store in the old layout with the offset under \"__offset\": migrated (offset and data kept)",
			p.cfg.Topic, p.cfg.Partition)
	case storage.LayoutRebuilding:
		p.cfg.Logf("table: topic %q partition %d: store in the old layout with the offset under \"__offset\": rebuilding (its offset could not be read or too many keys needed re-encoding; emptied, restoring from the oldest offset)",
			p.cfg.Topic, p.cfg.Partition)
	case storage.LayoutCurrent:
	default:
		p.cfg.Logf("table: topic %q partition %d: store in the old layout with the offset under \"__offset\": %s",
			p.cfg.Topic, p.cfg.Partition, upgrade)
	}
}

// Close stops a running Recover or Follow, waits for it and for any Open in
// progress, then closes the store. It is idempotent; later calls return nil
// once the first has finished.
func (p *Partition) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.done)
		p.ops.Wait()
		p.closeParked()
		p.waitClosings()
		if st := p.Storage(); st != nil {
			if cerr := st.Close(); cerr != nil {
				err = p.errorf("close storage: %w", cerr)
			}
		}
		p.sig.SetState(Stopped)
	})
	return err
}

// begin is the common start of Recover and Follow: it claims the partition,
// opens the store if needed and checks the config. On an error it leaves
// nothing claimed.
func (p *Partition) begin(ctx context.Context) (storage.Storage, func(), error) {
	leave, err := p.enter(true)
	if err != nil {
		return nil, nil, err
	}
	if err := p.Open(ctx); err != nil {
		leave()
		return nil, nil, err
	}
	if p.cfg.Consumer == nil || p.cfg.Offsets == nil {
		leave()
		return nil, nil, p.errorf("%w: consumer and offsets are required", ErrConfig)
	}
	return p.Storage(), leave, nil
}

// fail ends Recover or Follow after an error: back to Connecting, since the
// store stays readable while the caller decides whether to retry; a Close
// in progress sets Stopped after it.
func (p *Partition) fail() {
	p.sig.SetState(Connecting)
}

// Recover restores the store up to the high-water mark taken when it
// starts: Connecting, Recovering, Preparing, then Running, where it
// returns. With a Config.RestoreLimit it waits for a slot once it knows how
// much it reads, Connecting. It stops its consumer before returning and leaves nothing
// running but the consumer's close, which waits for sarama's fetch in
// flight and which the next consumer and Close wait for; unless
// Config.KeepConsumer is set: then its consumer stays for the Follow that
// comes next (a store already up to date gets one started at the
// high-water mark). Opens the store first if Open was not called.
//
// Errors: ErrStoreAhead, *KafkaError, *UpdateError, storage errors; ctx's
// error (wrapped) when ctx ends first, ErrClosed when Close interrupts it.
// After an error the state is Connecting and the store keeps every batch
// written so far.
func (p *Partition) Recover(ctx context.Context) (rerr error) {
	st, leave, err := p.begin(ctx)
	if err != nil {
		return err
	}
	defer leave()
	defer func() {
		if rerr != nil {
			p.fail()
		}
	}()
	p.sig.SetState(Connecting)
	pos, err := p.position(ctx, st)
	if err != nil {
		return err
	}
	p.statsMu.Lock()
	p.stats.recovery = RecoveryStats{StartTime: p.cfg.Now(), Offset: pos.start - 1, Hwm: pos.hwm}
	p.stats.input.LastOffset, p.stats.hwm = pos.start-1, pos.hwm
	p.statsMu.Unlock()

	release := func() {}
	if !p.cfg.RestoreLimit.exempt(pos.hwm - pos.start) {
		if release, err = p.cfg.RestoreLimit.acquire(ctx, p.done); err != nil {
			return p.stopError(ctx, "recover", err)
		}
	}
	// Given back once the records are applied, or when Recover returns
	// early: closing the consumer only waits for its last fetch.
	release = sync.OnceFunc(release)
	defer release()

	if pos.start < pos.hwm {
		err := p.consume(ctx, st, pos.start, pos.hwm, pos.hwm, func() { p.sig.SetState(Recovering) }, release)
		if err != nil {
			return p.stopError(ctx, "recover", err)
		}
	} else if p.cfg.KeepConsumer {
		// Started now, its subscription is under way while the store is
		// marked recovered, so the Follow after it waits less.
		if err := p.startParked(pos.start); err != nil {
			return err
		}
	}

	p.sig.SetState(Preparing)
	if err := st.MarkRecovered(); err != nil {
		return p.errorf("mark recovered: %w", err)
	}
	p.statsMu.Lock()
	p.stats.recovery.RecoveryTime = p.cfg.Now()
	p.statsMu.Unlock()
	p.sig.SetState(Running)
	return nil
}

// Follow applies new records until ctx ends or Close is called, and then
// returns nil. It starts after the store's offset, so it continues where
// Recover stopped (with Recover's consumer, when Config.KeepConsumer left
// one there), and it is Running as soon as its consumer started. Right
// after a successful Recover it stays Running while it starts, instead of
// passing through Connecting: a caller that has just seen the partition
// recovered must not see it disconnected for the time of a lookup. Used
// without Recover, it is goka's catch-up mode. Opens the store first if
// Open was not called.
//
// Errors are those of Recover, except that stopping is not one. After an
// error the state is Connecting.
func (p *Partition) Follow(ctx context.Context) (rerr error) {
	st, leave, err := p.begin(ctx)
	if err != nil {
		return err
	}
	defer leave()
	defer func() {
		if rerr != nil {
			p.fail()
		}
	}()
	if !p.sig.IsState(Running) {
		p.sig.SetState(Connecting)
	}
	pos, ok, err := p.parkedPosition(st)
	if err != nil {
		return err
	}
	if !ok {
		// No consumer left by Recover to take over.
		if pos, err = p.position(ctx, st); err != nil {
			return err
		}
	}
	err = p.consume(ctx, st, pos.start, -1, pos.hwm, func() { p.sig.SetState(Running) }, func() {})
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// stopError turns the loop's stop into the error Recover reports.
func (p *Partition) stopError(ctx context.Context, op string, err error) error {
	if !errors.Is(err, errStopped) {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return p.errorf("%s: %w", op, ctxErr)
	}
	return p.errorf("%s: %w", op, ErrClosed)
}

// position is where a partition's store and its topic stand.
type position struct {
	start int64 // the first offset to read
	hwm   int64 // the topic's high-water mark
}

// position decides where to start reading: after the stored offset, or at
// the oldest offset when nothing is stored or the records after the stored
// offset are gone (retention, compaction).
func (p *Partition) position(ctx context.Context, st storage.Storage) (position, error) {
	stored, err := st.GetOffset(noOffset)
	if err != nil {
		return position{}, p.errorf("read stored offset: %w", err)
	}
	oldest, err := p.cfg.Offsets.GetOffset(p.cfg.Topic, p.cfg.Partition, sarama.OffsetOldest)
	if err != nil {
		return position{}, &KafkaError{Topic: p.cfg.Topic, Partition: p.cfg.Partition, Offset: -1, Op: "look up oldest offset", Err: err}
	}
	hwm, err := p.cfg.Offsets.GetOffset(p.cfg.Topic, p.cfg.Partition, sarama.OffsetNewest)
	if err != nil {
		return position{}, &KafkaError{Topic: p.cfg.Topic, Partition: p.cfg.Partition, Offset: -1, Op: "look up high-water mark", Err: err}
	}
	if stored == DirtyOffset {
		if err := p.wipe(ctx, st); err != nil {
			return position{}, err
		}
		return position{start: oldest, hwm: hwm}, nil
	}
	if stored == noOffset {
		return position{start: oldest, hwm: hwm}, nil
	}
	if stored >= hwm {
		return position{}, p.errorf("%w: the local store holds records up to offset %d but the topic's high-water mark is %d; "+
			"the topic was deleted and recreated or the storage path belongs to another topic or cluster; delete the local store of this partition",
			ErrStoreAhead, stored, hwm)
	}
	start := stored + 1
	if start < oldest {
		p.cfg.Logf("table: topic %q partition %d: offsets %d to %d are no longer in the topic (retention or compaction); reading from %d",
			p.cfg.Topic, p.cfg.Partition, start, oldest-1, oldest)
		start = oldest
	}
	return position{start: start, hwm: hwm}, nil
}
