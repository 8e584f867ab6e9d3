package engine

import (
	"sync"
	"time"
)

// inflightCounter counts messages whose callback ran but that have not
// settled, so Stop can wait for their acknowledgements.
type inflightCounter struct {
	mu   sync.Mutex
	n    int
	zero chan struct{}
}

func (c *inflightCounter) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.zero = make(chan struct{})
	}
	c.n++
}

func (c *inflightCounter) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	if c.n == 0 {
		close(c.zero)
	}
}

// wait waits until nothing is in flight or timeout passed; it reports
// whether everything settled.
func (c *inflightCounter) wait(timeout time.Duration) bool {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return true
	}
	zero := c.zero
	c.mu.Unlock()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-zero:
		return true
	case <-timer.C:
		return false
	}
}
