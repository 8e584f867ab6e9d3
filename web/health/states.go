package health

import (
	"fmt"

	"github.com/seed-b2c684ed/goka"
)

// The library's states carry no names of their own; the answers of the
// probes say them in words.

func processorStateName(s goka.State) string {
	switch s {
	case goka.ProcStateIdle:
		return "idle (Run not called yet)"
	case goka.ProcStateStarting:
		return "starting"
	case goka.ProcStateSetup:
		return "setting up a session"
	case goka.ProcStateRunning:
		return "running"
	case goka.ProcStateStopping:
		return "stopping a session"
	case goka.ProcStateStopped:
		return "stopped"
	case goka.ProcStateRestarting:
		return "restarting after a failure"
	}
	return fmt.Sprintf("state %d", s)
}

func viewStateName(s goka.ViewState) string {
	switch s {
	case goka.ViewStateIdle:
		return "idle (Run not called yet)"
	case goka.ViewStateInitializing:
		return "initializing"
	case goka.ViewStateConnecting:
		return "connecting"
	case goka.ViewStateCatchUp:
		return "catching up"
	case goka.ViewStateRunning:
		return "running"
	}
	return fmt.Sprintf("state %d", s)
}

func partitionStatusName(s goka.PartitionStatus) string {
	switch s {
	case goka.PartitionStopped:
		return "stopped"
	case goka.PartitionInitializing:
		return "initializing"
	case goka.PartitionConnecting:
		return "connecting"
	case goka.PartitionRecovering:
		return "recovering"
	case goka.PartitionPreparing:
		return "preparing"
	case goka.PartitionRunning:
		return "running"
	}
	return fmt.Sprintf("status %d", s)
}
