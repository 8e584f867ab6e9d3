package actions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/seed-b2c684ed/goka"
)

var (
	// ErrRunning is returned when an action is started while it runs.
	ErrRunning = errors.New("actions: action is already running")
	// ErrNotRunning is returned when an action is stopped while idle.
	ErrNotRunning = errors.New("actions: action is not running")
	// ErrUnknownAction is returned for a name that was never attached.
	ErrUnknownAction = errors.New("actions: no such action")
	// ErrDuplicateAction is returned when a name is attached twice.
	ErrDuplicateAction = errors.New("actions: action already attached")
)

// PanicError is the result of a run whose actor panicked: the panic ends
// that run, not the program.
type PanicError struct {
	Action string
	Value  interface{}
}

// Error names the action and the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("actions: %s panicked: %v", e.Action, e.Value)
}

// Unwrap returns the panic value when it was an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// action is one attached Actor and its latest run. At most one run is active;
// its goroutine ends when the actor returns, and done is closed after the
// result is recorded, so Stop returning means the run is over.
type action struct {
	name  string
	actor Actor
	log   goka.Logger

	mu       sync.Mutex
	cancel   context.CancelFunc // non-nil while a run is active
	done     chan struct{}      // closed when the latest run has ended
	value    string
	started  time.Time
	finished time.Time
	err      error
}

func (a *action) start(value string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		return fmt.Errorf("%w: %s", ErrRunning, a.name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.cancel, a.done = cancel, done
	a.value, a.started, a.finished, a.err = value, time.Now(), time.Time{}, nil
	go func() {
		defer close(done)
		err := a.run(ctx, value)
		cancel()
		if err != nil {
			a.log.Printf("actions: %s failed: %v", a.name, err)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.cancel, a.finished, a.err = nil, time.Now(), err
	}()
	return nil
}

func (a *action) run(ctx context.Context, value string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Action: a.name, Value: v}
		}
	}()
	return a.actor.RunAction(ctx, value)
}

// stop cancels the active run and waits for it to end, or for ctx, whose
// error it then returns: an actor that ignores cancellation must not hang
// the caller for ever.
func (a *action) stop(ctx context.Context) error {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.mu.Unlock()
	if cancel == nil {
		return fmt.Errorf("%w: %s", ErrNotRunning, a.name)
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("actions: waiting for %s to stop: %w", a.name, ctx.Err())
	}
}

// status is a snapshot of an action for the page.
type status struct {
	Name        string
	Description string
	Running     bool
	Value       string
	Started     string
	Finished    string
	Err         string
	StartURL    string
	StopURL     string
}

func (a *action) status() status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := status{Name: a.name, Description: a.actor.Description(), Running: a.cancel != nil, Value: a.value}
	if !a.started.IsZero() {
		s.Started = a.started.Format(time.RFC3339)
	}
	if !a.finished.IsZero() {
		s.Finished = a.finished.Format(time.RFC3339)
	}
	if a.err != nil {
		s.Err = a.err.Error()
	}
	return s
}
