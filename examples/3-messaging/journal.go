package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// event is something a component did, printed as it happens. The demo waits
// for events to know that a step has taken effect before it takes the next.
type event struct {
	component string // "filter", "collector", ...
	kind      string // "delivered", "dropped", "blocked", ...
	key       string // the user or word it concerns
}

// journal prints the components' events and, when it keeps them, lets the
// demo wait for one.
type journal struct {
	keep bool

	mu      sync.Mutex
	events  []event
	changed chan struct{} // closed and replaced at every event
}

func newJournal(keep bool) *journal { return &journal{keep: keep, changed: make(chan struct{})} }

// note prints what happened and records the event.
func (j *journal) note(e event, format string, args ...interface{}) {
	fmt.Printf("[%s] %s\n", e.component, fmt.Sprintf(format, args...))
	if !j.keep {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e)
	close(j.changed)
	j.changed = make(chan struct{})
}

// mark returns the number of events so far, from which wait looks.
func (j *journal) mark() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.events)
}

// since returns the events noted after mark.
func (j *journal) since(mark int) []event {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]event(nil), j.events[mark:]...)
}

// wait returns the first event noted after mark that equals one of want, or
// ctx's error.
func (j *journal) wait(ctx context.Context, mark int, want ...event) (event, error) {
	for {
		j.mu.Lock()
		for _, e := range j.events[mark:] {
			if slices.Contains(want, e) {
				j.mu.Unlock()
				return e, nil
			}
		}
		changed := j.changed
		j.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return event{}, fmt.Errorf("waiting for %v: %w", want, ctx.Err())
		}
	}
}
