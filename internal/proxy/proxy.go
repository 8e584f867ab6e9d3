// Package proxy is a TCP proxy for tests that need a network fault: it
// forwards connections from a local address to a target, and can cut every
// connection and refuse new ones until told to restore them, or stall them:
// keep every connection open but hold back the bytes until told to release
// them.
//
// A Kafka client learns broker addresses from the cluster's metadata, not
// only from its bootstrap list, so putting a proxy in front of a broker takes
// a broker that announces the proxy's address (kafkatest.WithAdvertisedAddr).
//
// While cut, the proxy keeps its listening port, so the clients reconnect to
// the same address after Restore: it accepts and at once resets each new
// connection. A reset is what a client sees when a broker's host is reachable
// but the broker is gone, and it makes the client notice at its next read
// instead of after a timeout.
//
// While stalled, the proxy is a hung broker or a black-holed route: nothing
// is closed or reset, new connections are accepted (and connected to the
// target) but stall too, and the bytes already read are held, not dropped,
// so a client that has not given up sees every byte after Release. Only a
// client's own timeout ends a stalled connection.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// dialTimeout bounds the connection to the target. The target is local, so
// reaching it means the target is wedged; the client then sees a reset.
const dialTimeout = 5 * time.Second

// Proxy forwards every connection accepted on Addr to its target. It is safe
// for concurrent use; end it with Close.
type Proxy struct {
	ln     net.Listener
	target string

	ctx    context.Context // ends with Close; cancels dials in progress
	cancel context.CancelFunc

	mu     sync.Mutex
	cut    bool
	closed bool
	links  map[*link]struct{}
	// gate is nil while bytes flow; while stalled, a channel that Release
	// closes.
	gate chan struct{}

	wg sync.WaitGroup // the accept loop and every connection's goroutines
}

// link is one forwarded connection: the client's side and the target's.
type link struct {
	client, server net.Conn
	// done is closed once either side ends, which also frees a copy held
	// back by a stall.
	done     chan struct{}
	doneOnce sync.Once
}

func newLink(client, server net.Conn) *link {
	return &link{client: client, server: server, done: make(chan struct{})}
}

// end marks the link as ended.
func (l *link) end() { l.doneOnce.Do(func() { close(l.done) }) }

// reset closes both sides, the client's with a reset rather than an orderly
// close so it notices at once.
func (l *link) reset() {
	l.end()
	resetConn(l.client)
	_ = l.server.Close()
}

// resetConn closes c with a TCP reset when it is a TCP connection.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// New starts a proxy listening on a free port of 127.0.0.1 that forwards to
// target, a host:port.
func New(target string) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("proxy: target %q: %w", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{ln: ln, target: target, ctx: ctx, cancel: cancel, links: make(map[*link]struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the host:port clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target returns the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Cut resets every forwarded connection and resets new ones as they arrive,
// until Restore. Cutting a cut proxy does nothing.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.cut = true
	links := p.links
	p.links = make(map[*link]struct{})
	p.mu.Unlock()
	for l := range links {
		l.reset()
	}
}

// Restore forwards new connections again. The connections cut stay closed:
// clients have to reconnect, as after a real outage.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// Stall holds back every byte in both directions, on the connections open
// now and on those accepted later, until Release. Nothing is closed. Stalling
// a stalled proxy does nothing.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate = make(chan struct{})
	}
}

// Release forwards again, starting with the bytes held back. Releasing a
// proxy that does not stall does nothing.
func (p *Proxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}

// Connections returns the number of connections forwarded right now.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Close stops listening, resets every connection and returns once every
// goroutine of the proxy has ended. It is idempotent and always returns nil;
// the error result lets it serve as an io.Closer.
func (p *Proxy) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	links := p.links
	p.links = make(map[*link]struct{})
	p.mu.Unlock()
	if !already {
		p.cancel()
		_ = p.ln.Close()
		for l := range links {
			l.reset()
		}
	}
	p.wg.Wait()
	return nil
}

// acceptLoop hands every accepted connection to its own goroutine, so a slow
// dial to the target never holds up the next client.
func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			// Only Close makes a loopback listener fail for good; a
			// transient error (too many open files) is retried.
			if p.isClosed() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		p.mu.Lock()
		refuse := p.cut || p.closed
		if !refuse {
			p.wg.Add(1)
		}
		p.mu.Unlock()
		if refuse {
			resetConn(conn)
			continue
		}
		go p.serve(conn)
	}
}

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// serve connects client to the target and copies both ways until either
// side ends or the link is cut.
func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	var d net.Dialer
	server, err := d.DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		resetConn(client)
		return
	}
	l := newLink(client, server)
	p.mu.Lock()
	if p.cut || p.closed {
		// Cut or closed while dialling: this connection was not in the set
		// they reset.
		p.mu.Unlock()
		l.reset()
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()

	done := make(chan struct{})
	go func() {
		defer close(done)
		p.pump(l, server, client)
	}()
	p.pump(l, client, server)
	<-done

	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// copyBuffer is how much a pump reads at once, and so at most what it holds
// back in one direction while stalled; the rest waits in the sockets.
const copyBuffer = 32 << 10

// pump copies from src to dst until src ends or the link ends, then closes
// both, which ends the copy in the other direction too. While the proxy
// stalls it holds what it read and stops reading, so the sender feels TCP's
// back-pressure as it would from a hung peer.
func (p *Proxy) pump(l *link, dst, src net.Conn) {
	defer func() {
		l.end()
		_ = src.Close()
		_ = dst.Close()
	}()
	buf := make([]byte, copyBuffer)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitWhileStalled(l) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitWhileStalled returns true once bytes may flow, false when the link or
// the proxy ended first.
func (p *Proxy) waitWhileStalled(l *link) bool {
	for {
		p.mu.Lock()
		gate := p.gate
		p.mu.Unlock()
		if gate == nil {
			return true
		}
		// A release closes this gate; a stall right after it makes a new
		// one, which the next round waits for.
		select {
		case <-gate:
		case <-l.done:
			return false
		case <-p.ctx.Done():
			return false
		}
	}
}
