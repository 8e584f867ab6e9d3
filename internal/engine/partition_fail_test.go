package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newStatelessPartition starts an active partition of a group without
// tables; onFail hears of its failures.
func newStatelessPartition(t *testing.T, onFail func(error)) *Partition {
	t.Helper()
	cfg := &Config{
		Plan: &Plan{
			Group:  "fail",
			Routes: map[string]Route{"in": {Decode: func(data []byte) (any, error) { return data, nil }, Handle: func(*Message, any) {}}},
			Inputs: []string{"in"},
		},
		Log:          testLogger{t},
		PartitionLog: func(int32) Logger { return testLogger{t} },
		StopTimeout:  time.Second,
		OnFail:       onFail,
	}
	p := NewPartition(cfg, 0, RoleActive, func(string, int64) {})
	require.NoError(t, p.Start(context.Background(), context.Background()))
	return p
}

// TestFailRecordsTheFirstErrorOnce: failures from many goroutines at once
// end the partition's context, tell the processor once, and Stop returns
// the one recorded.
func TestFailRecordsTheFirstErrorOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var told atomic.Value
	p := newStatelessPartition(t, func(err error) {
		calls.Add(1)
		told.Store(err)
	})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.fail(fmt.Errorf("failure %d", i))
		}()
	}
	wg.Wait()
	select {
	case <-p.ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the partition's context did not end on its failure")
	}
	assert.Equal(t, int32(1), calls.Load(), "the processor hears of the first failure only")
	require.Error(t, p.err())
	assert.Same(t, told.Load(), p.err())
	assert.Same(t, p.err(), p.Stop())
	assert.Same(t, p.err(), p.Stop(), "Stop is idempotent")
}

// TestFailAfterStopIsRecorded: a failure after the stop (a write refused
// while Stop waited for it) still reaches the processor.
func TestFailAfterStopIsRecorded(t *testing.T) {
	t.Parallel()
	failed := make(chan error, 1)
	p := newStatelessPartition(t, func(err error) { failed <- err })
	require.NoError(t, p.Stop())
	late := errors.New("late")
	p.fail(late)
	assert.Same(t, late, receive(t, failed))
	assert.Same(t, late, p.err())
}
