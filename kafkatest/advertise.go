package kafkatest

import (
	"fmt"
	"net"
	"strconv"
)

// A broker announces, in its metadata, the address its listener reports, and
// clients connect to the addresses announced, not only to those they were
// given. To route the clients through something in front of the broker (a
// proxy that cuts connections), the listener reports that thing's address.

// advertisedListen wraps listen so that each listener reports the address
// advertise returns for the address it really listens on.
func advertisedListen(listen func(network, address string) (net.Listener, error), advertise func(string) string) func(network, address string) (net.Listener, error) {
	return func(network, address string) (net.Listener, error) {
		ln, err := listen(network, address)
		if err != nil {
			return nil, err
		}
		announced := advertise(ln.Addr().String())
		if err := checkHostPort(announced); err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("%w: advertised address %q: %w", ErrInvalidOption, announced, err)
		}
		return &advertisedListener{Listener: ln, addr: advertisedAddr{network: ln.Addr().Network(), hostport: announced}}, nil
	}
}

// checkHostPort accepts what a Kafka metadata response can carry: a host and
// a port number.
func checkHostPort(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("no host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a port number", port)
	}
	return nil
}

// advertisedListener accepts on the real address and reports another.
type advertisedListener struct {
	net.Listener
	addr advertisedAddr
}

// Addr returns the advertised address, which is all kfake uses it for.
func (l *advertisedListener) Addr() net.Addr { return l.addr }

// advertisedAddr is a host:port that need not be resolvable here.
type advertisedAddr struct {
	network, hostport string
}

func (a advertisedAddr) Network() string { return a.network }
func (a advertisedAddr) String() string  { return a.hostport }
