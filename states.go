package goka

import (
	"github.com/seed-b2c684ed/goka/internal/engine"
	"github.com/seed-b2c684ed/goka/internal/signal"
)

// State is a state of a processor, a partition processor, a table partition
// or a view.
type State = signal.State

// Signal holds a component's state and lets callers wait for or observe its
// changes. Unlike goka's, an observer that does not read never blocks the
// component: it simply sees the newest state when it reads again.
type Signal = signal.Signal

// StateChangeObserver receives the state changes of a Signal until Stop.
type StateChangeObserver = signal.StateChangeObserver

// NewSignal returns a Signal that accepts the given states, in lifecycle
// order, starting in the first.
func NewSignal(states ...State) *Signal { return signal.New(states...) }

// StateReader is the read-only side of a Signal, handed out by
// Processor.StateReader.
type StateReader interface {
	State() State
	IsState(State) bool
	WaitForStateMin(State) <-chan struct{}
	WaitForState(State) <-chan struct{}
	ObserveStateChange() *StateChangeObserver
}

// The states of a processor.
const (
	// ProcStateIdle: Run was not called yet.
	ProcStateIdle State = engine.ProcIdle
	// ProcStateStarting: Run is starting lookups and joining the group.
	ProcStateStarting State = engine.ProcStarting
	// ProcStateSetup: a consumer group session is being set up and its
	// partitions are recovering.
	ProcStateSetup State = engine.ProcSetup
	// ProcStateRunning: every assigned partition recovered and processes.
	ProcStateRunning State = engine.ProcRunning
	// ProcStateStopping: a session is ending (rebalance or shutdown).
	ProcStateStopping State = engine.ProcStopping
	// ProcStateStopped: the session ended; on shutdown Run returns next.
	ProcStateStopped State = engine.ProcStopped
	// ProcStateRestarting: a processor with WithRestartOnError failed and
	// waits for its restart's backoff; ProcStateStarting follows. Not in
	// goka, and last so that goka's states keep their numbers.
	ProcStateRestarting State = engine.ProcRestarting
)

// The states of a partition processor.
const (
	PPStateIdle       State = engine.PartIdle
	PPStateRecovering State = engine.PartRecovering
	PPStateRunning    State = engine.PartRunning
	PPStateStopping   State = engine.PartStopping
	PPStateStopped    State = engine.PartStopped
)

// ViewState is the state of a view, the lowest state of its partitions;
// View.CurrentState returns one. It is a type of its own, as in goka, so a
// type switch may have a case for State and one for ViewState. The values a
// view's ObserveStateChanges delivers are States with the same numbers:
// compare them with State(ViewStateRunning) and so on.
type ViewState int

// The states of a view, in lifecycle order.
const (
	ViewStateIdle ViewState = iota
	ViewStateInitializing
	ViewStateConnecting
	ViewStateCatchUp
	ViewStateRunning
)

// PartitionStatus is the state of one table partition.
type PartitionStatus int

// The states of a table partition, in lifecycle order.
const (
	PartitionStopped PartitionStatus = iota
	PartitionInitializing
	PartitionConnecting
	PartitionRecovering
	PartitionPreparing
	PartitionRunning
)

// PPRunMode tells how a partition processor runs: active (it processes
// input), passive (hot standby: it only follows the table) or recover-only
// (it warms the local store before the group is joined).
type PPRunMode int

const (
	runModeActive      = PPRunMode(engine.RoleActive)
	runModePassive     = PPRunMode(engine.RolePassive)
	runModeRecoverOnly = PPRunMode(engine.RoleRecoverOnly)
)
