package goka

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

func TestViewStates(t *testing.T) {
	e := newViewEnv(t, false)
	e.createTable("table", 3)
	e.write("table", upsert("a", "1"), upsert("b", "2"), upsert("c", "3"))
	v := e.newView("table")

	t.Log("before Run nothing can be read, and the error says the view never recovered")
	assert.Equal(t, ViewStateIdle, v.CurrentState())
	assert.False(t, v.Recovered())
	_, err := v.Get("a")
	assert.True(t, matchesAll(err, ErrViewNotRunning, ErrViewNotRecovered), "Get: %v", err)
	_, err = v.Has("a")
	assert.True(t, matchesAll(err, ErrViewNotRunning, ErrViewNotRecovered), "Has: %v", err)
	_, err = v.Iterator()
	assert.True(t, matchesAll(err, ErrViewNotRunning, ErrViewNotRecovered), "Iterator: %v", err)
	_, err = v.IteratorWithRange("a", "b")
	assert.True(t, matchesAll(err, ErrViewNotRunning, ErrViewNotRecovered), "IteratorWithRange: %v", err)
	assert.ErrorIs(t, v.Evict("a"), ErrViewNotRunning)

	states := recordStates(v)
	r := e.run(v)
	seen := states.until(t, ViewStateRunning)
	assert.Equal(t, ViewStateIdle, seen[0], "an observer first gets the current state")
	for i := 1; i < len(seen); i++ {
		assert.Greater(t, seen[i], seen[i-1], "a recovery without errors only moves forward: %v", seen)
	}
	select {
	case <-v.WaitRunning():
	default:
		t.Error("WaitRunning is not closed in Running")
	}
	r.recovered(t)
	assert.True(t, v.Recovered(), "Recovered right after WaitRecovered")
	assert.Equal(t, ViewStateRunning, v.CurrentState())

	require.NoError(t, r.stop(t))
	states.until(t, ViewStateIdle)
	assert.Empty(t, states.stop(), "no state after Idle")
	assert.False(t, v.Recovered())
	assert.NoError(t, v.WaitRecovered(t.Context()), "a view that recovered once stays recovered")
}

// cutWhenRunStarts builds topic managers as usual and cuts the proxy right
// after building the one Run uses (NewView's is the first): the view then
// starts with its clients built and loses the broker before it has restored
// anything.
func (e *viewEnv) cutWhenRunStarts() ViewOption {
	var calls atomic.Int32
	inner := TopicManagerBuilderWithConfig(e.config, e.tmc)
	return WithViewTopicManagerBuilder(func(brokers []string) (TopicManager, error) {
		tm, err := inner(brokers)
		if calls.Add(1) == 2 {
			e.proxy.Cut()
		}
		return tm, err
	})
}

// prefilledStores builds memory stores and puts key=value into the store of the
// partition that owns key, as a store kept from an earlier run would hold.
func prefilledStores(t *testing.T, partitions int32, key, value string) storage.Builder {
	t.Helper()
	owner, err := hashPartition(DefaultHasher(), key, partitions)
	require.NoError(t, err)
	return func(topic string, partition int32) (storage.Storage, error) {
		st := storage.NewMemory()
		if partition == owner {
			if err := st.Set(key, []byte(value)); err != nil {
				return nil, err
			}
		}
		return st, nil
	}
}

func TestViewNotRecoveredSignal(t *testing.T) {
	e := newViewEnv(t, true)
	e.createTable("table", 2)
	e.write("table", upsert("fresh", "1"))

	v := e.run(e.newView("table",
		e.cutWhenRunStarts(),
		WithViewStorageBuilder(prefilledStores(t, 2, "cached", "old")),
		WithViewAutoReconnect(),
		WithViewBackoffBuilder(func() (Backoff, error) { return NewSimpleBackoff(50*time.Millisecond, 500*time.Millisecond), nil }),
	))
	eventually(t, "the view to open its stores and fail to connect", func() bool {
		return v.CurrentState() == ViewStateConnecting
	})

	t.Log("what the store holds is served; what it lacks is not claimed absent")
	assert.Equal(t, "old", viewString(t, v.View, "cached"))
	has, err := v.Has("cached")
	require.NoError(t, err)
	assert.True(t, has)
	value, err := v.Get("fresh")
	assert.Nil(t, value)
	assert.ErrorIs(t, err, ErrViewNotRecovered)
	assert.NotErrorIs(t, err, ErrViewNotRunning, "the view runs, it only lacks data")
	assert.ErrorContains(t, err, "fresh")
	has, err = v.Has("fresh")
	assert.False(t, has)
	assert.ErrorIs(t, err, ErrViewNotRecovered)
	_, err = v.Iterator()
	assert.ErrorIs(t, err, ErrViewNotRecovered, "an iteration would silently miss keys")
	assert.False(t, v.Recovered())

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = v.WaitRecovered(ctx)
	assert.True(t, matchesAll(err, ErrViewNotRecovered, context.DeadlineExceeded), "WaitRecovered: %v", err)

	e.proxy.Restore()
	v.recovered(t)
	assert.True(t, v.Recovered())
	assert.Equal(t, "1", viewString(t, v.View, "fresh"))
	value, err = v.Get("missing")
	assert.NoError(t, err, "once recovered, absent is absent")
	assert.Nil(t, value)
	it, err := v.Iterator()
	require.NoError(t, err)
	assert.Equal(t, []string{"cached=old", "fresh=1"}, drainIterator(t, it))
}

func TestViewWaitRecoveredReportsAFailedRun(t *testing.T) {
	e := newViewEnv(t, true)
	e.createTable("table", 1)
	v := e.run(e.newView("table", e.cutWhenRunStarts()))

	ctx, cancel := context.WithTimeout(context.Background(), kafkaWait)
	defer cancel()
	err := v.WaitRecovered(ctx)
	assert.True(t, matchesAll(err, ErrViewNotRecovered, ErrViewNotRunning), "WaitRecovered: %v", err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "Run's end, not the deadline, ends the wait")
	runErr := v.wait(t)
	require.Error(t, runErr, "without auto-reconnect the first error ends Run")
	assert.ErrorContains(t, err, runErr.Error(), "WaitRecovered carries Run's error")
	assert.ErrorContains(t, runErr, "table")
}
