// Package redistest runs a throwaway redis-server for tests and examples: a
// child process listening on a free port of 127.0.0.1, keeping nothing on
// disk, stopped by Close.
//
// It runs the redis-server binary found on PATH (Debian's package, installed
// by scripts/redis.sh install when missing); Start reports ErrNotInstalled
// when there is none, so that callers can skip instead of failing.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNotInstalled is returned by Start when there is no redis-server binary.
var ErrNotInstalled = errors.New("redistest: redis-server not found; install it with scripts/redis.sh install")

// Binary is the redis-server executable Start runs: the value of the
// REDIS_SERVER environment variable when set, otherwise redis-server on
// PATH.
func Binary() (string, error) {
	name := os.Getenv("REDIS_SERVER")
	if name == "" {
		name = "redis-server"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w (%w)", ErrNotInstalled, err)
	}
	return path, nil
}

const (
	// startAttempts bounds the retries when another process takes the free
	// port between our probe and the server's bind.
	startAttempts = 5
	// stopTimeout is how long Close waits after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// pollInterval paces the readiness probe.
	pollInterval = 20 * time.Millisecond
)

// Server is a running redis-server.
type Server struct {
	addr    string
	dir     string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has ended
	waitErr error         // the process's exit status, set before exited closes

	closeOnce sync.Once
	closeErr  error
}

// Start runs redis-server on a free port of 127.0.0.1 with persistence off,
// in a temporary directory of its own, and returns once it answers PING.
// ctx bounds the start only. The caller must Close the server.
func Start(ctx context.Context) (*Server, error) {
	binary, err := Binary()
	if err != nil {
		return nil, err
	}
	var errs []error
	for range startAttempts {
		s, err := start(ctx, binary)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("redistest: start redis-server: %w", errors.Join(errs...))
}

func start(ctx context.Context, binary string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	s := &Server{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		dir:    dir,
		exited: make(chan struct{}),
	}
	s.cmd = exec.Command(binary,
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log"),
	)
	s.cmd.Dir = dir
	s.cmd.SysProcAttr = &syscall.SysProcAttr{}
	setDeathSignal(s.cmd.SysProcAttr)
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("run %s: %w", binary, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.awaitReady(ctx); err != nil {
		err = fmt.Errorf("%w%s", err, s.logTail())
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// freePort asks the kernel for a port that is free at this moment.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// awaitReady polls with PING until the server answers, exits or ctx ends.
func (s *Server) awaitReady(ctx context.Context) error {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if s.ping(ctx) == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("redis-server on %s exited: %w", s.addr, s.exitError())
		case <-ctx.Done():
			return fmt.Errorf("redis-server on %s did not answer: %w", s.addr, ctx.Err())
		case <-ticker.C:
		}
	}
}

// exitError is the process's exit status, never nil, once exited is closed.
func (s *Server) exitError() error {
	if s.waitErr != nil {
		return s.waitErr
	}
	return errors.New("exit status 0")
}

// ping sends one inline PING and expects PONG.
func (s *Server) ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// logTail returns the end of the server's log for an error message.
func (s *Server) logTail() string {
	data, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil || len(data) == 0 {
		return ""
	}
	const tail = 2000
	if len(data) > tail {
		data = data[len(data)-tail:]
	}
	return "; log:\n" + string(bytes.TrimSpace(data))
}

// Addr returns the server's address, host:port, for redis.Options.Addr.
func (s *Server) Addr() string {
	return s.addr
}

// Close stops the server, with SIGTERM and after stopTimeout with SIGKILL,
// waits for it to end and removes its directory. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.stop()
		if err := os.RemoveAll(s.dir); err != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("redistest: remove %s: %w", s.dir, err)
		}
	})
	return s.closeErr
}

func (s *Server) stop() error {
	select {
	case <-s.exited:
		return nil // it ended by itself; the caller learnt why from Start
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("redistest: stop redis-server: %w", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
		return nil
	case <-timer.C:
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("redistest: kill redis-server: %w", err)
	}
	<-s.exited
	return fmt.Errorf("redistest: redis-server ignored SIGTERM for %s and was killed", stopTimeout)
}
