package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/syndtr/goleveldb/leveldb"
)

// viewReadsWorkload measures View.Get from ViewG goroutines on a recovered
// view of ViewKeys keys, against goleveldb Gets on the same stores.
func viewReadsWorkload(ctx context.Context, e *env) ([]result, error) {
	s := e.opts.sizes
	table := e.name("view-table")
	if err := e.createTopic(table, s.Partitions, true); err != nil {
		return nil, err
	}
	int64Codec := new(codec.Int64)
	gen := func(i int) record {
		value, _ := int64Codec.Encode(int64(i))
		return record{keyOf(i), value}
	}
	if err := e.produce(table, s.ViewKeys, gen); err != nil {
		return nil, err
	}
	dir, cleanup, err := tempDir("view-reads")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	keys := make([]string, s.ViewKeys)
	for i := range keys {
		keys[i] = keyOf(i)
	}

	// Restore the table into dir and close it again, so that the baseline
	// and the timed view read the same stores in the same state: reopening
	// a goleveldb store moves what its journal holds into a table file, and
	// a store read straight after writing it would serve from the memtable.
	if err := e.restoreView(ctx, table, dir); err != nil {
		return nil, fmt.Errorf("restoring the view: %w", err)
	}
	raw := &measurement{name: "goleveldb", run: func() (timing, error) { return e.rawGets(table, dir, keys) }}
	lib := &measurement{name: "view", run: func() (timing, error) { return e.viewGets(ctx, table, dir, keys) }}
	if err := measureAll(e.opts.runs, raw, lib); err != nil {
		return nil, err
	}
	r := newResult("view-reads", "ops/s", lib.best)
	r.addBaseline("goleveldb Get, same stores", raw.best)
	r.Note = fmt.Sprintf("%d goroutines, %d keys, uniformly random; the view decodes each int64, the baseline does not", s.ViewG, s.ViewKeys)
	return []result{r}, nil
}

// restoreView runs a view of table until it has restored it into dir.
func (e *env) restoreView(ctx context.Context, table, dir string) error {
	view, err := goka.NewView(e.brokers, goka.Table(table), new(codec.Int64), e.viewOptions(dir)...)
	if err != nil {
		return err
	}
	run := runInBackground(ctx, view.Run)
	return errors.Join(view.WaitRecovered(ctx), run.stop())
}

// viewGets starts a view on the stores in dir, which hold the whole table
// already, and times Gets once it has caught up.
func (e *env) viewGets(ctx context.Context, table, dir string, keys []string) (timing, error) {
	view, err := goka.NewView(e.brokers, goka.Table(table), new(codec.Int64), e.viewOptions(dir)...)
	if err != nil {
		return timing{}, err
	}
	run := runInBackground(ctx, view.Run)
	if err := view.WaitRecovered(ctx); err != nil {
		return timing{}, errors.Join(err, run.stop())
	}
	w := openMemWindow()
	stopProfiles := e.startProfiles("view-reads")
	t, err := e.readConcurrently(keys, func(key string) error {
		v, err := view.Get(key)
		if err == nil && v == nil {
			err = fmt.Errorf("%s is missing", key)
		}
		return err
	})
	stopProfiles()
	t.mem = w.close()
	return t, errors.Join(err, run.stop())
}

// rawGets opens the stores a view left in dir and times goleveldb Gets,
// placing each key in its partition as the view does.
func (e *env) rawGets(table, dir string, keys []string) (timing, error) {
	parts := e.opts.sizes.Partitions
	dbs := make([]*leveldb.DB, parts)
	defer func() {
		for _, db := range dbs {
			if db != nil {
				db.Close()
			}
		}
	}()
	for p := range dbs {
		// The storage package's layout: <dir>/<topic>.<partition>.
		db, err := leveldb.OpenFile(filepath.Join(dir, fmt.Sprintf("%s.%d", table, p)), nil)
		if err != nil {
			return timing{}, fmt.Errorf("opening the view's store: %w", err)
		}
		dbs[p] = db
	}
	w := openMemWindow()
	t, err := e.readConcurrently(keys, func(key string) error {
		_, err := dbs[partitionOf(key, int32(parts))].Get([]byte(key), nil)
		return err
	})
	t.mem = w.close()
	return t, err
}

// readConcurrently calls get with uniformly random keys from ViewG
// goroutines for ViewDur and counts the calls. A first, untimed round of a
// third of that warms goleveldb's block cache, which both sides use.
func (e *env) readConcurrently(keys []string, get func(string) error) (timing, error) {
	d := time.Duration(e.opts.sizes.ViewDur)
	if _, err := e.readFor(d/3, keys, get); err != nil {
		return timing{}, err
	}
	return e.readFor(d, keys, get)
}

func (e *env) readFor(d time.Duration, keys []string, get func(string) error) (timing, error) {
	s := e.opts.sizes
	var stop atomic.Bool
	var total atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	for g := range s.ViewG {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			var n int64
			for !stop.Load() {
				if err := get(keys[rng.IntN(len(keys))]); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					stop.Store(true)
					break
				}
				n++
			}
			total.Add(n)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if p := firstErr.Load(); p != nil {
		return timing{}, *p
	}
	return timing{count: total.Load(), elapsed: elapsed}, nil
}
