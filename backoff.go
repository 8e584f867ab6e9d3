package goka

import (
	"sync"
	"time"
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
	return &simpleBackoff{step: step, max: max}
}

type simpleBackoff struct {
	mu      sync.Mutex
	step    time.Duration
	max     time.Duration
	current time.Duration
}

func (b *simpleBackoff) Duration() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.current
	// Compare before adding so a huge step or max cannot overflow.
	if b.current > b.max-b.step {
		b.current = b.max
	} else {
		b.current += b.step
	}
	return d
}

func (b *simpleBackoff) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.current = 0
}
