package goka

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastViewBackoff keeps reconnect attempts in the tens of milliseconds.
func fastViewBackoff() ViewOption {
	return WithViewBackoffBuilder(func() (Backoff, error) {
		return NewSimpleBackoff(50*time.Millisecond, 500*time.Millisecond), nil
	})
}

func TestViewReconnectsThroughACut(t *testing.T) {
	e := newViewEnv(t, true)
	e.createTable("table", 2)
	e.write("table", upsert("a", "1"), upsert("b", "2"))

	v := e.run(e.newView("table", WithViewAutoReconnect(), fastViewBackoff()))
	v.recovered(t)
	states := recordStates(v.View)
	states.until(t, ViewStateRunning)

	e.proxy.Cut()
	states.until(t, ViewStateConnecting)
	assert.False(t, v.Recovered(), "a view without its brokers is not Running")

	t.Log("during the cut the view serves what it has")
	assert.Equal(t, "1", viewString(t, v.View, "a"))
	assert.Equal(t, "2", viewString(t, v.View, "b"))
	value, err := v.Get("missing")
	require.NoError(t, err, "absent stays absent once recovered, even while cut")
	assert.Nil(t, value)
	it, err := v.Iterator()
	require.NoError(t, err)
	assert.Equal(t, []string{"a=1", "b=2"}, drainIterator(t, it))

	t.Log("records written during the cut are not seen until it ends")
	e.write("table", upsert("a", "10"), tombstone("b"), upsert("c", "3"))
	assert.Equal(t, "1", viewString(t, v.View, "a"), "stale, not lost")
	assert.Equal(t, ViewStateConnecting, v.CurrentState())

	e.proxy.Restore()
	eventually(t, "the view to catch up after the cut", func() bool {
		return viewString(t, v.View, "a") == "10" && viewString(t, v.View, "b") == "" && viewString(t, v.View, "c") == "3"
	})
	states.until(t, ViewStateRunning)
	eventually(t, "the view to be Running again", v.Recovered)

	t.Log("and it keeps following")
	e.write("table", upsert("d", "4"))
	eventually(t, "a record written after the cut", func() bool { return viewString(t, v.View, "d") == "4" })

	select {
	case err := <-v.done:
		t.Fatalf("Run ended during a cut with auto-reconnect: %v", err)
	default:
	}
	require.NoError(t, v.stop(t))
	states.stop()
}

func TestViewWithoutAutoReconnectEndsOnACut(t *testing.T) {
	e := newViewEnv(t, true)
	e.createTable("table", 2)
	e.write("table", upsert("a", "1"))

	v := e.run(e.newView("table"))
	v.recovered(t)
	cut := time.Now()
	e.proxy.Cut()
	err := v.wait(t)
	require.Error(t, err, "the first error ends Run")
	assert.Less(t, time.Since(cut), 10*time.Second, "Run notices the cut promptly")
	assert.ErrorContains(t, err, "table")
	t.Logf("Run: %v", err)

	_, err = v.Get("a")
	assert.ErrorIs(t, err, ErrViewNotRunning)
	assert.NotErrorIs(t, err, ErrViewNotRecovered, "it had recovered before the cut")
	assert.Equal(t, ViewStateIdle, v.CurrentState())
}
