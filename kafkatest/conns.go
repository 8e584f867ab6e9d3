package kafkatest

import (
	"net"
	"sync"
	"sync/atomic"
)

// kfake reads and writes each client connection from helper goroutines that
// end as soon as their Read or Write returns. Their creator may end first, so
// the lineage cannot always name them; counting the calls in progress on every
// connection lets Close wait for them anyway. Closing the connections also
// cuts the clients off at once instead of leaving them to find a dead broker.

// connTracker remembers every connection the brokers accepted.
type connTracker struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func newConnTracker() *connTracker {
	return &connTracker{conns: make(map[*trackedConn]struct{})}
}

// listen is the listen function kfake uses: it keeps brokers on the loopback
// interface and wraps what they accept.
func (t *connTracker) listen(network, address string) (net.Listener, error) {
	_, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen(network, net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return nil, err
	}
	return &trackedListener{Listener: ln, tracker: t}, nil
}

// add registers c, or reports false when the cluster is already closing. It
// forgets connections kfake has closed, so a long test that opens many
// connections does not keep them all.
func (t *connTracker) add(c *trackedConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	for old := range t.conns {
		if old.closed.Load() && old.inFlight.Load() == 0 {
			delete(t.conns, old)
		}
	}
	t.conns[c] = struct{}{}
	return true
}

// closeAll closes every connection and refuses later ones.
func (t *connTracker) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for c := range t.conns {
		_ = c.Conn.Close()
	}
}

// busy reports whether any connection still has a Read or Write in progress.
func (t *connTracker) busy() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		if c.inFlight.Load() > 0 {
			return true
		}
	}
	return false
}

// trackedListener hands out trackedConns.
type trackedListener struct {
	net.Listener
	tracker *connTracker
}

// Accept wraps the accepted connection; once the cluster is closing it
// refuses new connections by closing them.
func (l *trackedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := &trackedConn{Conn: conn}
		if l.tracker.add(c) {
			return c, nil
		}
		_ = conn.Close()
	}
}

// trackedConn counts the Read and Write calls in progress.
type trackedConn struct {
	net.Conn
	inFlight atomic.Int32
	closed   atomic.Bool
}

func (c *trackedConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

func (c *trackedConn) Read(p []byte) (int, error) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	return c.Conn.Read(p)
}

func (c *trackedConn) Write(p []byte) (int, error) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	return c.Conn.Write(p)
}
