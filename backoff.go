package goka

import (
	"time"

	"github.com/seed-b2c684ed/goka/internal/engine"
)

// Backoff tells how long to wait before the next attempt of something that
// failed, for example reconnecting a view. Reset starts the sequence over
// after a success.
type Backoff interface {
	Duration() time.Duration
	Reset()
}

// NewSimpleBackoff returns a linear backoff: the first Duration is 0 so the
// first retry is immediate, then step, 2·step, and so on up to max. It is safe
// for concurrent use.
func NewSimpleBackoff(step, max time.Duration) Backoff {
	return engine.NewLinearBackoff(step, max)
}
