// Package signal holds a state machine's current state and lets goroutines
// wait for, or observe, its changes. The processor, its partitions, the table
// partitions and views each own one; the root package exposes it as
// goka.Signal.
package signal

import (
	"fmt"
	"sync"
)

// State is one state of a Signal. States are ordered: WaitForStateMin waits for
// any state at or above the given one, so declare them in lifecycle order.
type State int

// Signal is the current state of a component. Every method is safe for
// concurrent use.
type Signal struct {
	mu        sync.Mutex
	state     State
	allowed   map[State]bool
	waiters   []*waiter
	observers map[*StateChangeObserver]struct{}
}

type waiter struct {
	state State
	min   bool
	done  chan struct{}
}

// New returns a signal that accepts only the given states, starting in the
// first of them.
func New(states ...State) *Signal {
	s := &Signal{allowed: make(map[State]bool, len(states)), observers: make(map[*StateChangeObserver]struct{})}
	for _, st := range states {
		s.allowed[st] = true
	}
	if len(states) > 0 {
		s.state = states[0]
	}
	return s
}

// SetState moves the signal to state and wakes whoever waits for it. Setting
// the current state again does nothing. A state that was not declared is a
// programming error and panics, as goka's does.
func (s *Signal) SetState(state State) *Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.allowed[state] {
		panic(fmt.Sprintf("signal: state %d was not declared", state))
	}
	if s.state == state {
		return s
	}
	s.state = state
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		if w.state == state || (w.min && state >= w.state) {
			close(w.done)
			continue
		}
		kept = append(kept, w)
	}
	for i := len(kept); i < len(s.waiters); i++ {
		s.waiters[i] = nil
	}
	s.waiters = kept
	for o := range s.observers {
		o.offer(state)
	}
	return s
}

// State returns the current state.
func (s *Signal) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// IsState reports whether the signal is in state.
func (s *Signal) IsState(state State) bool { return s.State() == state }

// WaitForState returns a channel closed once the signal is in exactly state;
// already closed if it is in it now.
func (s *Signal) WaitForState(state State) <-chan struct{} {
	ch, _ := s.wait(state, false)
	return ch
}

// WaitForStateMin returns a channel closed once the signal is in state or a
// later one.
func (s *Signal) WaitForStateMin(state State) <-chan struct{} {
	ch, _ := s.wait(state, true)
	return ch
}

// WaitForStateMinWithCleanup is WaitForStateMin with a function that forgets
// the wait, for callers that give up waiting (the channel is then never
// closed).
func (s *Signal) WaitForStateMinWithCleanup(state State) (<-chan struct{}, func()) {
	return s.wait(state, true)
}

func (s *Signal) wait(state State, min bool) (<-chan struct{}, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &waiter{state: state, min: min, done: make(chan struct{})}
	if s.state == state || (min && s.state >= state) {
		close(w.done)
		return w.done, func() {}
	}
	s.waiters = append(s.waiters, w)
	return w.done, func() { s.forget(w) }
}

func (s *Signal) forget(w *waiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, other := range s.waiters {
		if other == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

// ObserveStateChange returns an observer whose channel first receives the
// current state and then every later one. Unlike goka's, a slow reader never
// blocks the signal: when the reader falls behind, the states it missed are
// replaced by the newest, so it always ends up seeing the current state.
func (s *Signal) ObserveStateChange() *StateChangeObserver {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &StateChangeObserver{c: make(chan State, 1), signal: s}
	o.c <- s.state
	s.observers[o] = struct{}{}
	return o
}

// StateChangeObserver receives the state changes of a Signal until Stop.
type StateChangeObserver struct {
	c       chan State
	signal  *Signal
	stopped bool // guarded by signal.mu
}

// C returns the channel of states. It is closed by Stop.
func (o *StateChangeObserver) C() <-chan State { return o.c }

// Stop ends the observation and closes the channel. It is idempotent.
func (o *StateChangeObserver) Stop() {
	o.signal.mu.Lock()
	defer o.signal.mu.Unlock()
	if o.stopped {
		return
	}
	o.stopped = true
	delete(o.signal.observers, o)
	close(o.c)
}

// offer delivers state, replacing an unread older state. Called with
// signal.mu held, which is also what serialises the senders.
func (o *StateChangeObserver) offer(state State) {
	select {
	case o.c <- state:
		return
	default:
	}
	select {
	case <-o.c:
	default:
	}
	o.c <- state
}
