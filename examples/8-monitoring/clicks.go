package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-b2c684ed/goka"
)

// With the default four partitions every partition has users (ivan and
// mallory hash to the one the others leave empty) and pages.
var (
	users = []string{"alice", "bob", "carol", "ivan", "dave", "erin", "mallory", "sybil"}
	pages = []string{"home", "search", "product", "cart", "checkout", "help"}
)

// clickSource sends clicks through one emitter, shared by the steady stream
// and the actions of the web UI.
type clickSource struct {
	emitter *goka.Emitter
	sent    atomic.Int64
	paused  atomic.Bool
}

// send emits one click of a random user on a random page without waiting
// for Kafka; done gets the outcome once the producer has it. The first users
// and pages are picked more often, so the counts differ.
func (s *clickSource) send(done func(error)) error {
	user := users[min(rand.IntN(len(users)), rand.IntN(len(users)))]
	page := pages[min(rand.IntN(len(pages)), rand.IntN(len(pages)))]
	promise, err := s.emitter.Emit(user, page)
	if err != nil {
		return fmt.Errorf("emitting a click: %w", err)
	}
	promise.Then(func(err error) {
		if err == nil {
			s.sent.Add(1)
		}
		done(err)
	})
	return nil
}

// steady sends a click every interval, unless paused, until ctx ends or a
// click fails. Clicks still in flight at the end are waited for by the
// emitter's Finish.
func (s *clickSource) steady(ctx context.Context, interval time.Duration) error {
	failed := make(chan error, 1)
	report := func(err error) {
		if err != nil {
			select {
			case failed <- err:
			default:
			}
		}
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return fmt.Errorf("emitting a click: %w", err)
		case <-ticker.C:
		}
		if s.paused.Load() {
			continue
		}
		if err := s.send(report); err != nil {
			return err
		}
	}
}

// burst is the "emit" action: it sends value clicks (100 when empty) at once
// and returns when Kafka has acknowledged all of them. Cancelled, it sends no
// more and waits for those already sent.
func (s *clickSource) burst(ctx context.Context, value string) error {
	n := 100
	if v := strings.TrimSpace(value); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return fmt.Errorf("the number of clicks must be a positive integer, not %q", v)
		}
	}
	var (
		pending sync.WaitGroup
		mu      sync.Mutex
		errs    []error
	)
	done := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		pending.Done()
	}
	sent := 0
	for ; sent < n && ctx.Err() == nil; sent++ {
		pending.Add(1)
		if err := s.send(done); err != nil {
			pending.Done()
			errs = append(errs, err)
			break
		}
	}
	pending.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d clicks failed: %w", len(errs), sent, errors.Join(errs...))
	}
	if sent < n {
		return fmt.Errorf("stopped after %d of %d clicks: %w", sent, n, ctx.Err())
	}
	return nil
}

// pause is the "pause" action: the steady stream stops until the action is
// stopped, and the monitor's rates drop to zero meanwhile.
func (s *clickSource) pause(ctx context.Context, _ string) error {
	if !s.paused.CompareAndSwap(false, true) {
		return fmt.Errorf("already paused")
	}
	defer s.paused.Store(false)
	<-ctx.Done()
	return nil
}
