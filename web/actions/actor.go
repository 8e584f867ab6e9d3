package actions

import "context"

// Actor is something an operator can start from the actions page, such as
// resetting every key with Processor.VisitAll.
type Actor interface {
	// RunAction does the work. It is called in a goroutine of its own and
	// must return soon after ctx is cancelled: Stop waits for it.
	RunAction(ctx context.Context, value string) error
	// Description tells the operator what the action does.
	Description() string
}

// FuncActor makes an Actor of a function.
func FuncActor(description string, fn func(ctx context.Context, value string) error) Actor {
	return &funcActor{description: description, fn: fn}
}

type funcActor struct {
	description string
	fn          func(ctx context.Context, value string) error
}

func (a *funcActor) RunAction(ctx context.Context, value string) error { return a.fn(ctx, value) }

func (a *funcActor) Description() string { return a.description }
