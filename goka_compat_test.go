package goka_test

// Behaviours goka programs rely on beyond the signatures scripts/apicheck
// compares: distinct types, promoted methods, error identity.

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/storage"
)

// stateKind is the kind of switch goka programs write over the states they
// log: it compiles only when ViewState is a type of its own.
func stateKind(s interface{}) string {
	switch s.(type) {
	case goka.State:
		return "state"
	case goka.ViewState:
		return "view state"
	}
	return "other"
}

func TestViewStateIsItsOwnType(t *testing.T) {
	assert.Equal(t, "view state", stateKind(goka.ViewStateRunning))
	assert.Equal(t, "state", stateKind(goka.ProcStateRunning))
	// The values an observer delivers are States with the same numbers.
	assert.Equal(t, goka.State(4), goka.State(goka.ViewStateRunning))
	// goka's tests compare CurrentState with the typed constants.
	var v goka.ViewState = goka.ViewStateIdle
	assert.Equal(t, goka.ViewStateIdle, v)
}

func TestNullStorageRecovered(t *testing.T) {
	var n storage.Null
	assert.False(t, n.Recovered())
	require.NoError(t, n.MarkRecovered())
	assert.True(t, n.Recovered())
}

// goka's Promise embeds sync.Mutex, so Lock, Unlock and TryLock are there.
func TestPromiseLockIsPromoted(t *testing.T) {
	p := goka.NewPromise()
	require.True(t, p.TryLock())
	assert.False(t, p.TryLock())
	p.Unlock()
	p.Lock()
	p.Unlock()
}
