package goka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-b2c684ed/goka/internal/metrics"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
)

// ErrViewNotRunning is returned by reads of a view that is not running: Run
// was not called yet, is still opening the local stores, or has returned.
var ErrViewNotRunning = errors.New("view is not running")

// ErrViewAlreadyRun is returned by a second call of View.Run.
var ErrViewAlreadyRun = errors.New("view already run")

// ErrViewNotRecovered is returned, wrapped, by a read whose answer would be
// "absent" while the view has not yet finished restoring the table: the key
// may still arrive. goka answers nil in that case, just as for a key the
// table does not have. Wait with View.WaitRecovered and read again.
var ErrViewNotRecovered = errors.New("view has not recovered yet")

// Getter reads a key of a table; Processor.Get and View.Get are Getters.
type Getter func(string) (interface{}, error)

// View is a read-only local copy of every partition of a table, restored from
// Kafka and kept up to date while Run runs.
//
// # Reading during recovery and outages
//
// As in goka, a view serves what it has: while it catches up, and while it
// reconnects after losing the brokers (WithViewAutoReconnect), Get returns
// the values stored so far, which may be stale. Unlike goka, a view says
// when "absent" cannot be trusted yet. Until every partition has been
// restored once up to the end of the table as it was when Run started, a
// read that would answer "absent" returns an error wrapping
// ErrViewNotRecovered instead: Get and Has for a key not (yet) stored, and
// Iterator and IteratorWithRange, which cannot tell which keys are missing.
// A key that is already stored is returned without error, as goka does.
// Once recovered, a view stays recovered for the rest of Run: absent answers
// during a later outage are stale, like the values, but not refused.
//
// To wait for that point, call WaitRecovered, which also reports a Run that
// ended without recovering; goka's WaitRunning and Recovered remain, and
// follow the current state: they turn false again while the view
// reconnects.
//
// Before Run has opened the local stores, and after it returned, every read
// fails with ErrViewNotRunning (also wrapping ErrViewNotRecovered when the
// view never recovered).
type View struct {
	brokers    []string
	topic      string
	codec      Codec
	opts       *voptions
	log        logger
	metrics    *metrics.View // nil: metrics off
	partitions []int32

	state   *Signal
	started atomic.Bool

	// stateMu serialises updateState, so the view's state is always set from
	// the partition states of the latest change.
	stateMu sync.Mutex

	// partRecovered[i] is set once partition i has been restored once;
	// recovered is closed when all are, once the view's state shows it.
	partRecovered []atomic.Bool
	recoveredOnce sync.Once
	recovered     chan struct{}

	// done is closed when Run returns, after runErr is set.
	done   chan struct{}
	runErr error

	mu     sync.RWMutex
	tables []*table.Partition // indexed by partition; nil before and after Run
}

// NewView builds a view of table. It asks Kafka for the table's partitions,
// so the table must exist and be numbered 0..n-1.
func NewView(brokers []string, topic Table, codec Codec, options ...ViewOption) (*View, error) {
	opts := new(voptions)
	if err := opts.applyOptions(topic, codec, options...); err != nil {
		return nil, err
	}
	if codec == nil {
		return nil, fmt.Errorf("view %s: the codec is nil", topic)
	}
	tm, err := opts.builders.topicmgr(brokers)
	if err != nil {
		return nil, fmt.Errorf("view %s: building the topic manager: %w", topic, err)
	}
	defer tm.Close()
	partitions, err := tm.Partitions(string(topic))
	if err != nil {
		return nil, fmt.Errorf("view %s: fetching the partitions of topic %s: %w", topic, topic, err)
	}
	sort.Slice(partitions, func(i, j int) bool { return partitions[i] < partitions[j] })
	for i, p := range partitions {
		if p != int32(i) {
			return nil, fmt.Errorf("view %s: partition gap: the partitions are %v, expected 0..%d", topic, partitions, len(partitions)-1)
		}
	}
	if len(partitions) == 0 {
		return nil, fmt.Errorf("view %s: the topic has no partitions", topic)
	}
	m, err := metrics.NewView(opts.metrics, string(topic))
	if err != nil {
		return nil, fmt.Errorf("view %s: %w", topic, err)
	}
	v := &View{
		brokers:       brokers,
		topic:         string(topic),
		codec:         codec,
		opts:          opts,
		log:           opts.log.Prefix(fmt.Sprintf("View %s", topic)).With("topic", string(topic)),
		metrics:       m,
		partitions:    partitions,
		state:         NewSignal(State(ViewStateIdle), State(ViewStateInitializing), State(ViewStateConnecting), State(ViewStateCatchUp), State(ViewStateRunning)),
		partRecovered: make([]atomic.Bool, len(partitions)),
		recovered:     make(chan struct{}),
		done:          make(chan struct{}),
	}
	if opts.deprecatedRestartable {
		v.log.Printf("WithViewRestartable is deprecated, use WithViewAutoReconnect")
	}
	return v, nil
}

// Run restores every partition of the table and then follows it until ctx is
// cancelled. Without WithViewAutoReconnect the first error ends Run; with it,
// the view retries with backoff and keeps serving what it has. Run closes the
// local stores before it returns, and a view runs only once.
func (v *View) Run(ctx context.Context) (rerr error) {
	if !v.started.CompareAndSwap(false, true) {
		return fmt.Errorf("view %s: %w", v.topic, ErrViewAlreadyRun)
	}
	defer func() {
		v.runErr = rerr
		close(v.done)
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	v.state.SetState(State(ViewStateInitializing))
	defer v.state.SetState(State(ViewStateIdle))

	consumer, err := v.opts.builders.consumerSarama(v.brokers, v.opts.clientID)
	if err != nil {
		return fmt.Errorf("view %s: building the consumer: %w", v.topic, err)
	}
	defer consumer.Close()
	tm, err := v.opts.builders.topicmgr(v.brokers)
	if err != nil {
		return fmt.Errorf("view %s: building the topic manager: %w", v.topic, err)
	}
	defer tm.Close()

	tables := make([]*table.Partition, len(v.partitions))
	for i, p := range v.partitions {
		tables[i] = table.New(table.Config{
			Topic:     v.topic,
			Partition: p,
			Builder:   v.opts.builders.storage,
			Consumer:  consumer,
			Offsets:   tm,
			GapCheck:  v.gapCheck(tm),
			// Zero (the default) unless the view reads committed.
			IdleTimeout: gapIdleTimeout(v.opts.readCommitted),
			Update:      tableUpdate(v.opts.updateCallback),
			Logf:        v.log.Prefix(fmt.Sprintf("partition %d", p)).With("partition", p).Printf,
			// Follow comes right after Recover and takes its consumer
			// over: reads are fresh from the moment the view recovered.
			KeepConsumer: true,
			// Shared by the view's partitions (and a processor's lookups).
			RestoreLimit: v.opts.restoreLimit,
		})
	}
	v.mu.Lock()
	v.tables = tables
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		v.tables = nil
		v.mu.Unlock()
		for _, t := range tables {
			rerr = errors.Join(rerr, t.Close())
		}
	}()
	for i, t := range tables {
		defer v.metrics.Watch(v.partitions[i], t)()
	}

	// The view's state follows the lowest state of its partitions. The
	// observers are stopped before the tables close, so the closing
	// partitions do not move the view through lower states.
	var observing sync.WaitGroup
	defer observing.Wait()
	observers := make([]*StateChangeObserver, len(tables))
	for i, t := range tables {
		observers[i] = t.Signal().ObserveStateChange()
		observing.Add(1)
		go func(o *StateChangeObserver) {
			defer observing.Done()
			for range o.C() {
				v.updateState(tables)
			}
		}(observers[i])
	}
	defer func() {
		for _, o := range observers {
			o.Stop()
		}
	}()

	errs := make([]error, len(tables))
	var runners sync.WaitGroup
	for i := range tables {
		runners.Add(1)
		go func() {
			defer runners.Done()
			errs[i] = v.runPartition(ctx, tables, i)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	runners.Wait()
	return errors.Join(errs...)
}

// runPartition restores one partition once and then follows it. With
// auto-reconnect, a Kafka error sends it back to Connecting (its store stays
// readable) and it tries again after the backoff: the restore if it never
// completed, else only the follow, which starts after the stored offset and
// so catches up with what was written meanwhile.
func (v *View) runPartition(ctx context.Context, tables []*table.Partition, i int) error {
	t := tables[i]
	if err := t.Open(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // cancelled while opening: a graceful stop, not a failure
		}
		return fmt.Errorf("view %s: %w", v.topic, err)
	}
	var began time.Time
	run := func(ctx context.Context) error {
		began = time.Now()
		if !v.partRecovered[i].Load() {
			if err := t.Recover(ctx); err != nil {
				return err
			}
			// Not left to the observers alone: WaitRecovered must not
			// return before the view's state says Running.
			v.partRecovered[i].Store(true)
			v.updateState(tables)
		}
		return t.Follow(ctx)
	}
	if !v.opts.autoreconnect {
		err := run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("view %s: %w", v.topic, err)
		}
		return nil
	}
	backoff, err := v.opts.builders.backoff()
	if err != nil {
		return fmt.Errorf("view %s: building the backoff: %w", v.topic, err)
	}
	err = table.Retry(ctx, run, backoff.Duration, nil, func(err error) {
		// A partition that ran for the reset timeout was healthy: this is a
		// new outage, which starts again with short waits.
		if time.Since(began) >= v.opts.backoffResetTime {
			backoff.Reset()
		}
		v.log.Printf("partition %d: reconnecting after error: %v", v.partitions[i], err)
	})
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("view %s: %w", v.topic, err)
	}
	return nil
}

// allRecovered reports whether every partition has been restored once.
func (v *View) allRecovered() bool {
	for i := range v.partRecovered {
		if !v.partRecovered[i].Load() {
			return false
		}
	}
	return true
}

// updateState sets the view's state from the lowest state of its partitions.
func (v *View) updateState(tables []*table.Partition) {
	v.stateMu.Lock()
	defer v.stateMu.Unlock()
	lowest := table.Running
	for i, t := range tables {
		st := t.Signal().State()
		if st == table.Running {
			// A partition reaches Running only once restored. Marking it
			// before the view's state can become Running means whoever
			// sees Running (WaitRunning, a processor waiting for its
			// lookups) never gets ErrViewNotRecovered.
			v.partRecovered[i].Store(true)
		}
		lowest = min(lowest, st)
	}
	var state ViewState
	switch lowest {
	case table.Stopped, table.Initializing:
		// goka maps Stopped to Idle, which shows a view that has just
		// entered Run as Idle again until its stores open; during Run a
		// stopped partition is one about to open. Run sets Idle itself
		// when it returns.
		state = ViewStateInitializing
	case table.Connecting:
		state = ViewStateConnecting
	case table.Recovering, table.Preparing:
		state = ViewStateCatchUp
	default:
		state = ViewStateRunning
	}
	v.state.SetState(State(state))
	// Closed after the state is set, so that Recovered is true when
	// WaitRecovered returns, unless the view has already lost a partition
	// again.
	if v.allRecovered() {
		v.recoveredOnce.Do(func() { close(v.recovered) })
	}
}

// notRunning is the error of a read while the stores are not open.
func (v *View) notRunning() error {
	if v.allRecovered() {
		return fmt.Errorf("view %s: %w", v.topic, ErrViewNotRunning)
	}
	return fmt.Errorf("view %s: %w (%w)", v.topic, ErrViewNotRunning, ErrViewNotRecovered)
}

// openTables returns the partitions, or an error when the view cannot be
// read.
func (v *View) openTables() ([]*table.Partition, error) {
	v.mu.RLock()
	tables := v.tables
	v.mu.RUnlock()
	if tables == nil || v.state.State() < State(ViewStateConnecting) {
		return nil, v.notRunning()
	}
	return tables, nil
}

// tableOf returns the partition index of key and its table.
func (v *View) tableOf(key string) (int32, *table.Partition, error) {
	tables, err := v.openTables()
	if err != nil {
		return 0, nil, err
	}
	p, err := safeHashPartition(v.opts.hasher, key, int32(len(tables)))
	if err != nil {
		return 0, nil, fmt.Errorf("view %s: %w", v.topic, err)
	}
	return p, tables[p], nil
}

// absent is the answer for a key the store does not have, given whether its
// partition had been restored before the store was read.
func (v *View) absent(key string, partition int32, recovered bool) error {
	if recovered {
		return nil
	}
	return fmt.Errorf("view %s: key %q not found in partition %d: %w", v.topic, key, partition, ErrViewNotRecovered)
}

// Get returns the value of key, or nil when the table has no such key. It
// reads the local copy, which may lag behind Kafka while the view catches up
// or reconnects. Before the view has recovered, a missing key is an error
// wrapping ErrViewNotRecovered instead of nil (see View).
func (v *View) Get(key string) (interface{}, error) {
	p, t, err := v.tableOf(key)
	if err != nil {
		return nil, err
	}
	// Read the flag before the store: a key missing from a store that was
	// restored before the read is really missing.
	recovered := v.partRecovered[p].Load()
	data, err := t.Storage().Get(key)
	if err != nil {
		return nil, fmt.Errorf("view %s: reading key %q: %w", v.topic, key, err)
	}
	if data == nil {
		return nil, v.absent(key, p, recovered)
	}
	value, err := safeDecode(v.codec, data)
	if err != nil {
		return nil, fmt.Errorf("view %s: decoding key %q: %w", v.topic, key, err)
	}
	return value, nil
}

// Has reports whether the table has key. Before the view has recovered,
// false comes with an error wrapping ErrViewNotRecovered (see View).
func (v *View) Has(key string) (bool, error) {
	p, t, err := v.tableOf(key)
	if err != nil {
		return false, err
	}
	recovered := v.partRecovered[p].Load()
	has, err := t.Storage().Has(key)
	if err != nil {
		return false, fmt.Errorf("view %s: reading key %q: %w", v.topic, key, err)
	}
	if !has {
		return false, v.absent(key, p, recovered)
	}
	return true, nil
}

// Evict removes key from the local copy only; the table topic is unchanged,
// and a later update of the key in the topic brings it back.
func (v *View) Evict(key string) error {
	_, t, err := v.tableOf(key)
	if err != nil {
		return err
	}
	if err := t.Storage().Delete(key); err != nil {
		return fmt.Errorf("view %s: evicting key %q: %w", v.topic, key, err)
	}
	return nil
}

// Iterator returns an iterator over every key of the table, in key order,
// over a snapshot of the local copy. Before the view has recovered it
// returns an error wrapping ErrViewNotRecovered (see View).
func (v *View) Iterator() (Iterator, error) {
	return v.iterate(func(st storage.Storage) (storage.Iterator, error) { return st.Iterator() })
}

// IteratorWithRange iterates the keys in [start, limit), in key order; with
// an empty limit it iterates the keys that start with start, as goka's
// LevelDB storage does (the exact range is the storage's, see package
// storage). Before the view has recovered it returns an error wrapping
// ErrViewNotRecovered.
func (v *View) IteratorWithRange(start, limit string) (Iterator, error) {
	return v.iterate(func(st storage.Storage) (storage.Iterator, error) {
		return st.IteratorWithRange([]byte(start), []byte(limit))
	})
}

func (v *View) iterate(open func(storage.Storage) (storage.Iterator, error)) (Iterator, error) {
	tables, err := v.openTables()
	if err != nil {
		return nil, err
	}
	if !v.allRecovered() {
		return nil, fmt.Errorf("view %s: iterating: %w", v.topic, ErrViewNotRecovered)
	}
	iters := make([]storage.Iterator, 0, len(tables))
	for i, t := range tables {
		it, err := open(t.Storage())
		if err != nil {
			for _, opened := range iters {
				opened.Release()
			}
			return nil, fmt.Errorf("view %s: iterating partition %d: %w", v.topic, i, err)
		}
		iters = append(iters, it)
	}
	return &iterator{iter: storage.NewMultiIterator(iters), codec: v.codec}, nil
}

// Topic returns the table's topic.
func (v *View) Topic() string { return v.topic }

// Recovered reports whether every partition is caught up right now (state
// Running). It turns false again while the view reconnects; to know whether
// the view has recovered at all, use WaitRecovered.
func (v *View) Recovered() bool { return v.state.IsState(State(ViewStateRunning)) }

// WaitRecovered waits until every partition has been restored once, up to
// the end of the table as it was when Run started, and returns nil; from then
// on reads no longer return ErrViewNotRecovered. It returns at once when
// that already happened. It returns an error wrapping ErrViewNotRecovered
// and ctx's error when ctx ends first, or wrapping ErrViewNotRecovered,
// ErrViewNotRunning and Run's error when Run returned without recovering.
// It may be called before Run.
func (v *View) WaitRecovered(ctx context.Context) error {
	select {
	case <-v.recovered:
		return nil
	default:
	}
	select {
	case <-v.recovered:
		return nil
	case <-v.done:
		if v.allRecovered() {
			return nil
		}
		if v.runErr != nil {
			return fmt.Errorf("view %s: %w: %w: %w", v.topic, ErrViewNotRecovered, ErrViewNotRunning, v.runErr)
		}
		return fmt.Errorf("view %s: %w: %w: run returned", v.topic, ErrViewNotRecovered, ErrViewNotRunning)
	case <-ctx.Done():
		return fmt.Errorf("view %s: %w: %w", v.topic, ErrViewNotRecovered, ctx.Err())
	}
}

// CurrentState returns the view's state: the lowest state of its partitions.
func (v *View) CurrentState() ViewState { return ViewState(v.state.State()) }

// WaitRunning returns a channel closed once the view is in the Running
// state (now, if it is). It is never closed when Run fails first; prefer
// WaitRecovered, which reports that.
func (v *View) WaitRunning() <-chan struct{} { return v.state.WaitForState(State(ViewStateRunning)) }

// Done is closed when Run has returned (a second, refused call of Run does
// not close it). Health checks read it to tell a view that stopped from one
// that has not started yet, which CurrentState cannot: both are Idle.
func (v *View) Done() <-chan struct{} { return v.done }

// Error returns what Run returned once it has (nil after a cancel), and nil
// while it runs or before it was called.
func (v *View) Error() error {
	select {
	case <-v.done:
		return v.runErr
	default:
		return nil
	}
}

// ObserveStateChanges returns an observer of the view's states, which first
// receives the current state. A reader that falls behind never blocks the
// view: it skips to the newest state. Call Stop when done.
func (v *View) ObserveStateChanges() *StateChangeObserver { return v.state.ObserveStateChange() }

// Stats returns a snapshot of the view's partitions; it is empty while the
// view is not running. It does not block, so ctx is not used.
func (v *View) Stats(ctx context.Context) *ViewStats {
	stats := &ViewStats{Partitions: make(map[int32]*TableStats)}
	v.mu.RLock()
	defer v.mu.RUnlock()
	for i, t := range v.tables {
		stats.Partitions[v.partitions[i]] = newTableStats(t.Stats(), runModeActive)
	}
	return stats
}
