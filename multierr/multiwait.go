package multierr

import (
	"context"
	"sync"
)

// MultiWait waits until a number of done channels are closed, or its context
// ends first.
type MultiWait struct {
	ctx  context.Context
	mu   sync.Mutex
	left int
	done chan struct{}
}

// NewMultiWait returns a wait for num channels added with Add.
func NewMultiWait(ctx context.Context, num int) *MultiWait {
	mw := &MultiWait{ctx: ctx, left: num, done: make(chan struct{})}
	if num <= 0 {
		close(mw.done)
	}
	return mw
}

// Add counts done as one of the channels waited for, once it is closed. It
// stops watching when the wait's context ends, so no goroutine outlives it.
func (mw *MultiWait) Add(done <-chan struct{}) {
	go func() {
		select {
		case <-done:
			mw.mu.Lock()
			defer mw.mu.Unlock()
			mw.left--
			if mw.left == 0 {
				close(mw.done)
			}
		case <-mw.ctx.Done():
		}
	}()
}

// Done is closed once every channel was closed.
func (mw *MultiWait) Done() <-chan struct{} { return mw.done }

// Wait blocks until every channel was closed (true) or the context ended
// first (false).
func (mw *MultiWait) Wait() bool {
	select {
	case <-mw.done:
		return true
	case <-mw.ctx.Done():
		return false
	}
}
