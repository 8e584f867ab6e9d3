package goka

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastBackoff keeps reconnect attempts in the tens of milliseconds.
func fastBackoff() ViewOption {
	return WithViewBackoffBuilder(func() (Backoff, error) {
		return NewSimpleBackoff(50*time.Millisecond, 500*time.Millisecond), nil
	})
}

func TestViewReconnectsThroughACut(t *testing.T) {
	e := newViewEnv(t, true)
	e.createTable("table", 2)
	e.write("table", set("a", "1"), set("b", "2"))

	v := e.run(e.newView("table", WithViewAutoReconnect(), fastBackoff()))
	v.recovered(t)
	states := recordStates(v.View)
	states.until(t, ViewStateRunning)

	e.proxy.Cut()
	states.until(t, ViewStateConnecting)
	assert.False(t, v.Recovered(), "a view without its brokers is not Running")

	t.Log("during the cut the view serves what it has")
	assert.Equal(t, "1", getString(t, v.View, "a"))
	assert.Equal(t, "2", getString(t, v.View, "b"))
	value, err := v.Get("missing")
	require.NoError(t, err, "absent stays absent once recovered, even while cut")
	assert.Nil(t, value)
	it, err := v.Iterator()
	require.NoError(t, err)
	assert.Equal(t, []string{"a=1", "b=2"}, iterated(t, it))

	t.Log("records written during the cut are not seen until it ends")
	e.write("table", set("a", "10"), del("b"), set("c", "3"))
	assert.Equal(t, "1", getString(t, v.View, "a"), "stale, not lost")
	assert.Equal(t, ViewStateConnecting, v.CurrentState())

	e.proxy.Restore()
	eventually(t, "the view to catch up after the cut", func() bool {
		return getString(t, v.View, "a") == "10" && getString(t, v.View, "b") == "" && getString(t, v.View, "c") == "3"
	})
	states.until(t, ViewStateRunning)
	eventually(t, "the view to be Running again", v.Recovered)

	t.Log("and it keeps following")
	e.write("table", set("d", "4"))
	eventually(t, "a record written after the cut", func() bool { return getString(t, v.View, "d") == "4" })

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
	e.write("table", set("a", "1"))

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
