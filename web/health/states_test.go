package health

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/seed-b2c684ed/goka"
)

// TestEveryProcessorStateHasAName: a probe's answer names the state in
// words, the self-healing processor's restart included, never by number.
func TestEveryProcessorStateHasAName(t *testing.T) {
	for _, s := range []goka.State{goka.ProcStateIdle, goka.ProcStateStarting, goka.ProcStateSetup,
		goka.ProcStateRunning, goka.ProcStateStopping, goka.ProcStateStopped, goka.ProcStateRestarting} {
		assert.False(t, strings.HasPrefix(processorStateName(s), "state "), "state %d has no name", s)
	}
}
