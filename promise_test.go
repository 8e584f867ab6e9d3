package goka

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPromiseCallbacksRunOnFinishInOrder(t *testing.T) {
	p := NewPromise()
	var order []string
	p.Then(func(err error) { order = append(order, "first") })
	p.ThenWithMessage(func(msg *sarama.ProducerMessage, err error) { order = append(order, "second:"+msg.Topic) })
	p.Then(func(err error) { order = append(order, "third") })
	require.Empty(t, order, "callbacks ran before finish")

	p.finish(&sarama.ProducerMessage{Topic: "t"}, nil)
	assert.Equal(t, []string{"first", "second:t", "third"}, order)
}

func TestPromiseCallbackAfterFinishRunsAtOnce(t *testing.T) {
	errSend := errors.New("send failed")
	msg := &sarama.ProducerMessage{Topic: "t", Offset: 42}
	p := NewPromise().finish(msg, errSend)

	var gotErr error
	p.Then(func(err error) { gotErr = err })
	assert.Same(t, errSend, gotErr)

	var gotMsg *sarama.ProducerMessage
	p.ThenWithMessage(func(m *sarama.ProducerMessage, err error) { gotMsg = m })
	assert.Same(t, msg, gotMsg)
}

func TestPromiseFinishesOnce(t *testing.T) {
	p, finish := NewPromiseWithFinisher()
	var calls int
	var got error
	p.Then(func(err error) {
		calls++
		got = err
	})
	first := errors.New("first")
	assert.Same(t, p, finish(nil, first))
	assert.Same(t, p, finish(nil, errors.New("second")))
	assert.Same(t, p, p.finish(nil, nil))
	assert.Equal(t, 1, calls)
	assert.Same(t, first, got)

	// Callbacks registered later see the first result too.
	p.Then(func(err error) { got = err })
	assert.Same(t, first, got)
}

func TestPromiseNilCallbackIgnored(t *testing.T) {
	p := NewPromise()
	p.Then(nil)
	p.ThenWithMessage(nil)
	var ran bool
	p.Then(func(error) { ran = true })
	p.finish(nil, nil)
	assert.True(t, ran)
	p.Then(nil)
	p.ThenWithMessage(nil)
}

func TestPromiseCallbackMayUseThePromise(t *testing.T) {
	// goka runs callbacks under the promise's lock, so this deadlocks there.
	p := NewPromise()
	inner := make(chan error, 1)
	p.Then(func(err error) {
		p.Then(func(err error) { inner <- err })
	})
	errSend := errors.New("x")

	done := make(chan struct{})
	go func() {
		defer close(done)
		p.finish(nil, errSend)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("finish deadlocked")
	}
	select {
	case err := <-inner:
		assert.Same(t, errSend, err)
	default:
		t.Fatal("nested callback did not run")
	}
}

func TestPromiseConcurrentThenAndFinish(t *testing.T) {
	// Every callback runs exactly once whether it was registered before,
	// during or after the finish.
	const promises, callbacks = 50, 20
	for range promises {
		p := NewPromise()
		var ran atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range callbacks {
			wg.Go(func() {
				<-start
				p.Then(func(error) { ran.Add(1) })
			})
		}
		for range 3 {
			wg.Go(func() {
				<-start
				p.finish(nil, nil)
			})
		}
		close(start)
		wg.Wait()
		require.Equal(t, int32(callbacks), ran.Load())
	}
}

func TestPromiseAllocations(t *testing.T) {
	// A promise is made per produced message: one allocation for the
	// promise, none for its first callback or for finishing it.
	callback := func(error) {}
	allocs := testing.AllocsPerRun(100, func() {
		NewPromise().Then(callback).finish(nil, nil)
	})
	assert.LessOrEqual(t, allocs, 1.0)
}

// TestPromiseCallbackPanicStaysInTheCallback: a callback that panics when
// the send settles runs in the producer's goroutine, where a panic would end
// the process; it is reported instead, and the callbacks after it still run.
func TestPromiseCallbackPanicStaysInTheCallback(t *testing.T) {
	p, finish := NewPromiseWithFinisher()
	var after atomic.Bool
	p.Then(func(error) { panic("user callback") })
	p.Then(func(error) { after.Store(true) })

	done := make(chan struct{})
	go func() {
		defer close(done)
		finish(nil, nil) // as the producer's settling goroutine does
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("finish did not return")
	}
	assert.True(t, after.Load(), "the callback after the panicking one ran")
}
