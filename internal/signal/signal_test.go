package signal

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	idle State = iota
	starting
	running
	stopped
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestWaitForState(t *testing.T) {
	s := New(idle, starting, running, stopped)
	assert.True(t, s.IsState(idle))
	assert.True(t, closed(s.WaitForState(idle)))

	exact := s.WaitForState(running)
	min := s.WaitForStateMin(starting)
	minLater, cleanup := s.WaitForStateMinWithCleanup(stopped)
	assert.False(t, closed(exact))
	assert.False(t, closed(min))

	s.SetState(starting)
	assert.True(t, closed(min))
	assert.False(t, closed(exact))

	s.SetState(running)
	assert.True(t, closed(exact))
	assert.Equal(t, running, s.State())

	cleanup()
	s.SetState(stopped)
	assert.False(t, closed(minLater), "a forgotten wait is never closed")
	assert.True(t, closed(s.WaitForStateMin(running)))
}

func TestUndeclaredStatePanics(t *testing.T) {
	s := New(idle, running)
	assert.Panics(t, func() { s.SetState(State(42)) })
}

func TestObserverNeverBlocksAndSeesTheLatestState(t *testing.T) {
	s := New(idle, starting, running, stopped)
	o := s.ObserveStateChange()
	assert.Equal(t, idle, <-o.C())

	// Nobody reads while the state changes three times: SetState must not block.
	s.SetState(starting).SetState(running).SetState(stopped)
	select {
	case st := <-o.C():
		assert.Equal(t, stopped, st)
	case <-time.After(5 * time.Second):
		t.Fatal("no state observed")
	}

	o.Stop()
	o.Stop()
	_, open := <-o.C()
	assert.False(t, open)
	s.SetState(idle) // no observer left; must not panic on the closed channel
}

func TestObserverSeesEveryChangeWhenReadPromptly(t *testing.T) {
	s := New(idle, starting, running, stopped)
	o := s.ObserveStateChange()
	defer o.Stop()
	var got []State
	got = append(got, <-o.C())
	for _, st := range []State{starting, running, stopped} {
		s.SetState(st)
		got = append(got, <-o.C())
	}
	assert.Equal(t, []State{idle, starting, running, stopped}, got)
}

func TestConcurrentUse(t *testing.T) {
	s := New(idle, starting, running, stopped)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-s.WaitForStateMin(running)
		}()
	}
	o := s.ObserveStateChange()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.SetState(starting)
		s.SetState(running)
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waiters were not released")
	}
	o.Stop()
	require.True(t, s.IsState(running))
}
