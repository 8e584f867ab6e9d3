package engine

import (
	"sync"
	"time"
)

// NewLinearBackoff returns a linear backoff: the first Duration is 0 so the
// first retry is immediate, then step, 2·step, and so on up to max. It is
// safe for concurrent use. The API's NewSimpleBackoff returns one.
func NewLinearBackoff(step, max time.Duration) Backoff {
	return &linearBackoff{step: step, max: max}
}

type linearBackoff struct {
	mu      sync.Mutex
	step    time.Duration
	max     time.Duration
	current time.Duration
}

func (b *linearBackoff) Duration() time.Duration {
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

func (b *linearBackoff) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.current = 0
}
