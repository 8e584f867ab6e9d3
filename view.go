package goka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
)

// ErrViewNotRunning is returned by reads of a view that is not running: Run
// was not called yet, is still opening the local stores, or has returned.
var ErrViewNotRunning = errors.New("view is not running")

// ErrViewAlreadyRun is returned by a second call of View.Run.
var ErrViewAlreadyRun = errors.New("view already run")

// Getter reads a key of a table; Processor.Get and View.Get are Getters.
type Getter func(string) (interface{}, error)

// View is a read-only local copy of every partition of a table, restored from
// Kafka and kept up to date while Run runs.
type View struct {
	brokers    []string
	topic      string
	codec      Codec
	opts       *voptions
	log        logger
	partitions []int32

	state   *Signal
	started atomic.Bool

	mu     sync.RWMutex
	tables []*table.Partition // indexed by partition; nil before Run
}

// NewView builds a view of table. It asks Kafka for the table's partitions,
// so the table must exist.
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
		return nil, fmt.Errorf("view %s: fetching the partitions: %w", topic, err)
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
	return &View{
		brokers:    brokers,
		topic:      string(topic),
		codec:      codec,
		opts:       opts,
		log:        opts.log.Prefix(fmt.Sprintf("View %s", topic)),
		partitions: partitions,
		state:      NewSignal(ViewStateIdle, ViewStateInitializing, ViewStateConnecting, ViewStateCatchUp, ViewStateRunning),
	}, nil
}

// Run restores every partition of the table and then follows it until ctx is
// cancelled. Without WithViewAutoReconnect the first error ends Run; with it,
// the view retries with backoff and keeps serving what it has. Run closes the
// local stores before it returns, and a view runs only once.
func (v *View) Run(ctx context.Context) (rerr error) {
	if !v.started.CompareAndSwap(false, true) {
		return ErrViewAlreadyRun
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	v.state.SetState(ViewStateInitializing)
	defer v.state.SetState(ViewStateIdle)

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
			Update:    tableUpdate(v.opts.updateCallback),
			Logf:      v.log.Prefix(fmt.Sprintf("partition %d", p)).Printf,
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

	var wg sync.WaitGroup
	defer wg.Wait()
	// The view's state follows the lowest state of its partitions.
	observers := make([]*StateChangeObserver, len(tables))
	for i, t := range tables {
		observers[i] = t.Signal().ObserveStateChange()
		wg.Add(1)
		go func(o *StateChangeObserver) {
			defer wg.Done()
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
	for i, t := range tables {
		runners.Add(1)
		go func() {
			defer runners.Done()
			errs[i] = v.runPartition(ctx, t)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	runners.Wait()
	return errors.Join(errs...)
}

// runPartition restores one partition and follows it.
func (v *View) runPartition(ctx context.Context, t *table.Partition) error {
	if err := t.Open(ctx); err != nil {
		return err
	}
	run := func(ctx context.Context) error {
		if !t.Signal().IsState(table.Running) {
			if err := t.Recover(ctx); err != nil {
				return err
			}
		}
		return t.Follow(ctx)
	}
	if !v.opts.autoreconnect {
		err := run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	backoff, err := v.opts.builders.backoff()
	if err != nil {
		return fmt.Errorf("view %s: building the backoff: %w", v.topic, err)
	}
	err = table.Retry(ctx, run, backoff.Duration, backoff.Reset, func(err error) {
		v.log.Printf("reconnecting after error: %v", err)
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (v *View) updateState(tables []*table.Partition) {
	lowest := table.Running
	for _, t := range tables {
		if st := t.Signal().State(); st < lowest {
			lowest = st
		}
	}
	var state State
	switch lowest {
	case table.Stopped:
		state = ViewStateIdle
	case table.Initializing:
		state = ViewStateInitializing
	case table.Connecting:
		state = ViewStateConnecting
	case table.Recovering, table.Preparing:
		state = ViewStateCatchUp
	default:
		state = ViewStateRunning
	}
	if v.started.Load() {
		v.state.SetState(state)
	}
}

// table returns the partition of key, or an error when the view cannot be
// read.
func (v *View) tableOf(key string) (*table.Partition, error) {
	v.mu.RLock()
	tables := v.tables
	v.mu.RUnlock()
	if tables == nil || v.state.State() < ViewStateConnecting {
		return nil, fmt.Errorf("view %s: %w", v.topic, ErrViewNotRunning)
	}
	p, err := hashPartition(v.opts.hasher, key, int32(len(tables)))
	if err != nil {
		return nil, fmt.Errorf("view %s: %w", v.topic, err)
	}
	return tables[p], nil
}

// Get returns the value of key, or nil when the table has no such key. It
// reads the local copy, which may lag behind Kafka while the view catches up
// or reconnects; use Recovered or WaitRunning to know it has caught up.
func (v *View) Get(key string) (interface{}, error) {
	t, err := v.tableOf(key)
	if err != nil {
		return nil, err
	}
	data, err := t.Storage().Get(key)
	if err != nil {
		return nil, fmt.Errorf("view %s: reading key %q: %w", v.topic, key, err)
	}
	if data == nil {
		return nil, nil
	}
	value, err := v.codec.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("view %s: decoding key %q: %w", v.topic, key, err)
	}
	return value, nil
}

// Has reports whether the table has key.
func (v *View) Has(key string) (bool, error) {
	t, err := v.tableOf(key)
	if err != nil {
		return false, err
	}
	return t.Storage().Has(key)
}

// Evict removes key from the local copy only; the table topic is unchanged.
func (v *View) Evict(key string) error {
	t, err := v.tableOf(key)
	if err != nil {
		return err
	}
	return t.Storage().Delete(key)
}

// Iterator returns an iterator over every key of the table, in key order.
func (v *View) Iterator() (Iterator, error) {
	return v.iterate(func(st storage.Storage) (storage.Iterator, error) { return st.Iterator() })
}

// IteratorWithRange iterates the keys in [start, limit); with an empty limit
// it iterates the keys that start with start (see package storage).
func (v *View) IteratorWithRange(start, limit string) (Iterator, error) {
	return v.iterate(func(st storage.Storage) (storage.Iterator, error) {
		return st.IteratorWithRange([]byte(start), []byte(limit))
	})
}

func (v *View) iterate(open func(storage.Storage) (storage.Iterator, error)) (Iterator, error) {
	v.mu.RLock()
	tables := v.tables
	v.mu.RUnlock()
	if tables == nil || v.state.State() < ViewStateConnecting {
		return nil, fmt.Errorf("view %s: %w", v.topic, ErrViewNotRunning)
	}
	iters := make([]storage.Iterator, 0, len(tables))
	for i, t := range tables {
		it, err := open(t.Storage())
		if err != nil {
			for _, open := range iters {
				open.Release()
			}
			return nil, fmt.Errorf("view %s: iterating partition %d: %w", v.topic, i, err)
		}
		iters = append(iters, it)
	}
	return &iterator{iter: storage.NewMultiIterator(iters), codec: v.codec}, nil
}

// Topic returns the table's topic.
func (v *View) Topic() string { return v.topic }

// Recovered reports whether every partition has caught up with the table.
func (v *View) Recovered() bool { return v.state.IsState(ViewStateRunning) }

// CurrentState returns the view's state: the lowest state of its partitions.
func (v *View) CurrentState() ViewState { return v.state.State() }

// WaitRunning returns a channel closed once the view has recovered.
func (v *View) WaitRunning() <-chan struct{} { return v.state.WaitForState(ViewStateRunning) }

// ObserveStateChanges returns an observer of the view's states. A reader that
// falls behind never blocks the view; call Stop when done.
func (v *View) ObserveStateChanges() *StateChangeObserver { return v.state.ObserveStateChange() }

// Stats returns a snapshot of the view's partitions.
func (v *View) Stats(ctx context.Context) *ViewStats {
	stats := &ViewStats{Partitions: make(map[int32]*TableStats)}
	v.mu.RLock()
	defer v.mu.RUnlock()
	for i, t := range v.tables {
		stats.Partitions[int32(i)] = newTableStats(t.Stats(), runModeActive)
	}
	return stats
}
