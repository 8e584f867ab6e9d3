package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every read in these tests; everything is local, so reaching
// it means the proxy is broken.
const wait = 5 * time.Second

// echoServer answers every line with the same line, until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

// client is one connection through the proxy.
type client struct {
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wait)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(wait)))
	return &client{conn: conn, r: bufio.NewReader(conn)}
}

// dialAndSend connects and makes one round trip; a connection reset shows
// in the dial or in the read, depending on timing.
func dialAndSend(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(wait)); err != nil {
		return err
	}
	c := &client{conn: conn, r: bufio.NewReader(conn)}
	_, err = c.roundTrip("anyone?")
	return err
}

// roundTrip sends a line and returns the answer or the error.
func (c *client) roundTrip(line string) (string, error) {
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	return c.r.ReadString('\n')
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// assertPromptFailure checks that a round trip failed because the connection
// was closed or reset, not because the client gave up waiting.
func assertPromptFailure(t *testing.T, err error, why string) {
	t.Helper()
	require.Error(t, err, why)
	var ne net.Error
	if errors.As(err, &ne) {
		assert.False(t, ne.Timeout(), "%s: the client waited for its deadline: %v", why, err)
	}
}

func TestForwardsBothWays(t *testing.T) {
	p := newProxy(t, echoServer(t))
	assert.NotEqual(t, p.Target(), p.Addr())

	a, b := dial(t, p.Addr()), dial(t, p.Addr())
	got, err := a.roundTrip("hello")
	require.NoError(t, err)
	assert.Equal(t, "hello\n", got)
	got, err = b.roundTrip("world")
	require.NoError(t, err)
	assert.Equal(t, "world\n", got)
	assert.Equal(t, 2, p.Connections())

	require.NoError(t, a.conn.Close())
	waitFor(t, "the closed client's link to go", func() bool { return p.Connections() == 1 })
}

func TestCutResetsAndRefusesUntilRestore(t *testing.T) {
	p := newProxy(t, echoServer(t))
	before := dial(t, p.Addr())
	_, err := before.roundTrip("up")
	require.NoError(t, err)

	p.Cut()
	p.Cut() // idempotent
	assert.Equal(t, 0, p.Connections())
	_, err = before.roundTrip("cut")
	assertPromptFailure(t, err, "a connection open at the cut is closed")

	assertPromptFailure(t, dialAndSend(p.Addr()), "new connections are reset")

	p.Restore()
	after := dial(t, p.Addr())
	got, err := after.roundTrip("back")
	require.NoError(t, err)
	assert.Equal(t, "back\n", got)
	_, err = before.roundTrip("still cut")
	assert.Error(t, err, "restoring does not revive a cut connection")
}

func TestCloseEndsEverything(t *testing.T) {
	p, err := New(echoServer(t))
	require.NoError(t, err)
	c := dial(t, p.Addr())
	_, err = c.roundTrip("up")
	require.NoError(t, err)

	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close is idempotent")
	_, err = c.roundTrip("closed")
	assertPromptFailure(t, err, "Close resets the connections")
	_, err = net.DialTimeout("tcp", p.Addr(), wait)
	assert.Error(t, err, "nothing listens after Close")
	// The package's TestMain fails if a goroutine of the proxy is left.
}

func TestUnreachableTargetResetsTheClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gone := ln.Addr().String()
	require.NoError(t, ln.Close())

	p := newProxy(t, gone)
	assertPromptFailure(t, dialAndSend(p.Addr()), "the target cannot be reached")
}

func TestNewRejectsABadTarget(t *testing.T) {
	_, err := New("no-port")
	assert.ErrorContains(t, err, "no-port")
}

// assertHeld checks that a round trip gets no answer while the proxy stalls:
// the client waits, it is neither reset nor closed.
func assertHeld(t *testing.T, c *client, line string) {
	t.Helper()
	_, err := c.conn.Write([]byte(line + "\n"))
	require.NoError(t, err, "a stalled connection stays open for writing")
	require.NoError(t, c.conn.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	_, err = c.r.ReadString('\n')
	var ne net.Error
	require.ErrorAs(t, err, &ne, "the read waits instead of failing")
	require.True(t, ne.Timeout(), "the read waits instead of failing: %v", err)
	require.NoError(t, c.conn.SetReadDeadline(time.Now().Add(wait)))
}

func TestStallHoldsBytesUntilRelease(t *testing.T) {
	p := newProxy(t, echoServer(t))
	before := dial(t, p.Addr())
	_, err := before.roundTrip("up")
	require.NoError(t, err)

	p.Stall()
	p.Stall() // idempotent
	assertHeld(t, before, "held")
	after := dial(t, p.Addr())
	assertHeld(t, after, "new")
	assert.Equal(t, 2, p.Connections(), "stalled connections stay open")

	p.Release()
	got, err := before.r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "held\n", got, "the held bytes arrive after the release, none dropped")
	got, err = after.r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "new\n", got, "a connection opened while stalled works after the release")
	got, err = before.roundTrip("again")
	require.NoError(t, err)
	assert.Equal(t, "again\n", got)
	p.Release() // releasing a flowing proxy does nothing
}

func TestStallHoldsLargeTransfersWhole(t *testing.T) {
	p := newProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	p.Stall()
	// More than the proxy reads at once and than the socket buffers hold,
	// written while the reader is not reading yet.
	line := make([]byte, 32<<20)
	for i := range line {
		line[i] = 'a' + byte(i%26)
	}
	written := make(chan error, 1)
	go func() {
		_, err := c.conn.Write(append(line, '\n'))
		written <- err
	}()
	select {
	case err := <-written:
		t.Fatalf("32 MiB passed a stalled proxy (write returned %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	p.Release()
	got, err := c.r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, string(line)+"\n", got)
	require.NoError(t, <-written)
}

func TestCutAndCloseEndStalledConnections(t *testing.T) {
	p, err := New(echoServer(t))
	require.NoError(t, err)
	c := dial(t, p.Addr())
	p.Stall()
	assertHeld(t, c, "held")

	p.Cut()
	_, err = c.r.ReadString('\n')
	assertPromptFailure(t, err, "Cut resets a stalled connection")
	assertPromptFailure(t, dialAndSend(p.Addr()), "while cut, new connections are reset even when stalled")
	p.Restore()
	d := dial(t, p.Addr())
	assertHeld(t, d, "still stalled")

	require.NoError(t, p.Close())
	_, err = d.r.ReadString('\n')
	assertPromptFailure(t, err, "Close resets a stalled connection")
	// The package's TestMain fails if a goroutine of the proxy is left.
}
