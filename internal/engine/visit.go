package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// visit runs one visitor callback for one key in the partition's goroutine.
// A visit commits nothing; it completes when everything it wrote is
// acknowledged.
func (p *Partition) visit(v *visitRequest) {
	m := &Message{
		p:         p,
		visit:     v,
		topic:     v.name,
		key:       v.key,
		timestamp: time.Now(),
	}
	m.pending.Store(1)
	p.inflight.add()
	err := p.call(m, v.cb, v.meta)
	if err == nil {
		err = m.release()
	}
	if err != nil {
		err = fmt.Errorf("visitor %q failed on key %q (partition %d): %w", v.name, v.key, p.partition, err)
		m.finish(err)
		p.fail(err)
		return
	}
	m.finish(nil)
}

// VisitValues calls the visitor name for every key of the partition's table,
// as it was when the visit started, in the partition's goroutine between
// input messages. visited counts the keys whose visit completed.
func (p *Partition) VisitValues(ctx context.Context, name string, meta any, visited *int64) error {
	cb := p.plan.Visitors[name]
	if cb == nil {
		return fmt.Errorf("visitor %q is not defined in group %q", name, p.plan.Group)
	}
	if p.table == nil {
		return fmt.Errorf("cannot visit values in stateless processor %q", p.plan.Group)
	}
	// A partition of a session still being set up has neither its store
	// nor its goroutine: wait until it runs (or stops, having failed).
	running, forget := p.state.WaitForStateMinWithCleanup(PartRunning)
	select {
	case <-running:
	case <-ctx.Done():
		forget()
		return ctx.Err()
	}
	if !p.state.IsState(PartRunning) {
		return ErrVisitAborted
	}
	st := p.table.Storage()
	if st == nil {
		return ErrVisitAborted
	}
	if rows := p.rows.Load(); rows != nil {
		// The visit walks the store: write the cached changes first.
		if err := rows.Flush(); err != nil {
			return fmt.Errorf("writing the local table %s partition %d: %w", p.plan.Table, p.partition, err)
		}
	}
	it, err := st.Iterator()
	if err != nil {
		return fmt.Errorf("iterating table %s partition %d: %w", p.plan.Table, p.partition, err)
	}
	defer it.Release()

	var (
		remaining atomic.Int64
		errMu     sync.Mutex
		firstErr  error
		allDone   = make(chan struct{})
	)
	remaining.Store(1) // held by the pushing loop until every key is queued
	release := func() {
		if remaining.Add(-1) == 0 {
			close(allDone)
		}
	}
	done := func(err error) {
		if err != nil {
			errMu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			errMu.Unlock()
		} else {
			atomic.AddInt64(visited, 1)
		}
		release()
	}
	// aborted is the answer when the partition stops before the visit
	// ends: a visit that failed, and so stopped it, reports why.
	aborted := func() error {
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr != nil {
			return firstErr
		}
		return ErrVisitAborted
	}

	for it.Next() {
		remaining.Add(1)
		req := &visitRequest{key: string(it.Key()), name: name, meta: meta, cb: cb, done: done}
		select {
		case p.visits <- req:
		case <-ctx.Done():
			return ctx.Err()
		case <-p.ctx.Done():
			return aborted()
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("iterating table %s partition %d: %w", p.plan.Table, p.partition, err)
	}
	release()

	select {
	case <-allDone:
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr != nil {
			return firstErr
		}
		// What the visits wrote is in the local store when VisitAll
		// returns, as in goka, where every SetValue is a store write:
		// readers of the store itself (the tester's TableValue, another
		// program) see it at once, not at the next commit.
		if rows := p.rows.Load(); rows != nil {
			if err := rows.Flush(); err != nil {
				return fmt.Errorf("writing the local table %s partition %d: %w", p.plan.Table, p.partition, err)
			}
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.ctx.Done():
		return aborted()
	}
}
