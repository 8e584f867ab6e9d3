package systemtest_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/systemtest"
)

// counterBin is the counter command, built once per test run into a
// temporary directory that TestMain removes.
var counterBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// counterBinary builds ./cmd/counter, with the race detector when the tests
// have it, and returns its path.
func counterBinary(t *testing.T) string {
	t.Helper()
	counterBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "goka-systemtest-bin-")
		if err != nil {
			counterBin.err = err
			return
		}
		counterBin.dir = dir
		counterBin.path = filepath.Join(dir, "counter")
		args := []string{"build"}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "-o", counterBin.path, "./cmd/counter")
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			counterBin.err = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	})
	require.NoError(t, counterBin.err)
	return counterBin.path
}

// removeCounterBinary removes what counterBinary built.
func removeCounterBinary() {
	if counterBin.dir != "" {
		_ = os.RemoveAll(counterBin.dir)
	}
}

// counterGroup is one consumer group of counter processes on one input.
type counterGroup struct {
	t          *testing.T
	bin        string
	brokers    []string
	group      string
	input      string
	partitions int32
	dir        string
	// replicated runs the instances with -cluster: replicated tables and
	// the library's producer defaults.
	replicated bool
	// static runs each instance as a static member of the group, its name
	// its group instance id (-instance-id).
	static bool
	// sessionTimeout, if set, replaces the scenarios' session timeout
	// (-session-timeout).
	sessionTimeout time.Duration
	// cooperative runs the instances with the incremental cooperative
	// protocol (-cooperative).
	cooperative bool
	// heartbeat, if set, replaces the scenarios' heartbeat interval
	// (-heartbeat).
	heartbeat time.Duration
	// exactlyOnce runs the instances with -exactly-once.
	exactlyOnce bool
}

func newCounterGroup(t *testing.T, c *cluster, partitions int32) *counterGroup {
	t.Helper()
	g := &counterGroup{
		t:          t,
		bin:        counterBinary(t),
		brokers:    c.brokers,
		group:      systemtest.UniqueName(t, "group"),
		input:      systemtest.UniqueName(t, "input"),
		partitions: partitions,
		dir:        t.TempDir(),
		replicated: c.replication > 1,
	}
	c.createStream(g.input, partitions)
	c.deleteLater(string(tableOf(g.group)))
	return g
}

// instance is one counter process. Its state is what it last reported on
// stdout.
type instance struct {
	name    string
	cmd     *exec.Cmd
	logPath string

	mu       sync.Mutex
	partial  []byte
	lines    []string
	assigned []int32 // nil before the first session
	// rebalances is the processor's rebalance metric as of its last
	// session's start: the sessions it has had.
	rebalances int64
	ready      bool
	processed  int64
	stopped    bool
	failed     string

	exited  chan struct{}
	waitErr error
}

// start starts an instance whose tables live in a directory named after it,
// so that an instance started again under the same name finds its stores.
func (g *counterGroup) start(name string) *instance {
	g.t.Helper()
	inst := &instance{
		name:    name,
		logPath: filepath.Join(g.dir, name+".log"),
		exited:  make(chan struct{}),
	}
	logFile, err := os.OpenFile(inst.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	require.NoError(g.t, err)
	defer logFile.Close() // the child has its own descriptor
	args := []string{
		"-brokers", strings.Join(g.brokers, ","),
		"-group", g.group,
		"-input", g.input,
		"-dir", filepath.Join(g.dir, name),
		"-name", name,
	}
	if g.replicated {
		args = append(args, "-cluster")
	}
	if g.static {
		args = append(args, "-instance-id", name)
	}
	if g.sessionTimeout > 0 {
		args = append(args, "-session-timeout", g.sessionTimeout.String())
	}
	if g.cooperative {
		args = append(args, "-cooperative")
	}
	if g.heartbeat > 0 {
		args = append(args, "-heartbeat", g.heartbeat.String())
	}
	if g.exactlyOnce {
		args = append(args, "-exactly-once")
	}
	inst.cmd = exec.Command(g.bin, args...)
	inst.cmd.Stdout = inst
	inst.cmd.Stderr = logFile
	require.NoError(g.t, inst.cmd.Start())
	go func() {
		inst.waitErr = inst.cmd.Wait()
		close(inst.exited)
	}()
	g.t.Cleanup(func() {
		if inst.alive() {
			_ = inst.cmd.Process.Kill()
			<-inst.exited
		}
		if g.t.Failed() {
			g.t.Logf("instance %s reported: %s", name, strings.Join(inst.reported(), " / "))
			if log, err := os.ReadFile(inst.logPath); err == nil {
				g.t.Logf("instance %s log (last lines):\n%s", name, lastLines(string(log), 40))
			}
		}
	})
	return inst
}

// Write parses the instance's stdout line by line.
func (i *instance) Write(p []byte) (int, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.partial = append(i.partial, p...)
	for {
		n := bytes.IndexByte(i.partial, '\n')
		if n < 0 {
			return len(p), nil
		}
		i.parse(string(i.partial[:n]))
		i.partial = i.partial[n+1:]
	}
}

func (i *instance) parse(line string) {
	i.lines = append(i.lines, line)
	switch {
	case strings.HasPrefix(line, "assigned "):
		i.assigned = []int32{}
		if list := strings.TrimPrefix(line, "assigned "); list != "-" {
			for _, s := range strings.Split(list, ",") {
				if p, err := strconv.Atoi(s); err == nil {
					i.assigned = append(i.assigned, int32(p))
				}
			}
		}
	case strings.HasPrefix(line, "rebalances "):
		if n, err := strconv.ParseInt(strings.TrimPrefix(line, "rebalances "), 10, 64); err == nil {
			i.rebalances = n
		}
	case line == "ready":
		i.ready = true
	case strings.HasPrefix(line, "processed "):
		if n, err := strconv.ParseInt(strings.TrimPrefix(line, "processed "), 10, 64); err == nil {
			i.processed = n
		}
	case line == "stopped":
		i.stopped = true
	case strings.HasPrefix(line, "failed: "):
		i.failed = strings.TrimPrefix(line, "failed: ")
	}
}

func (i *instance) reported() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []string
	for _, l := range i.lines {
		if !strings.HasPrefix(l, "processed ") {
			out = append(out, l)
		}
	}
	return append(out, fmt.Sprintf("processed %d", i.processed))
}

func (i *instance) alive() bool {
	select {
	case <-i.exited:
		return false
	default:
		return true
	}
}

// state returns the last assignment and processed count.
func (i *instance) state() (assigned []int32, processed int64, failed string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return slices.Clone(i.assigned), i.processed, i.failed
}

// terminate sends SIGTERM and waits for a clean exit: status 0 after
// "stopped".
func (i *instance) terminate(t *testing.T) {
	t.Helper()
	require.NoError(t, i.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-i.exited:
	case <-time.After(stopDeadline):
		t.Fatalf("instance %s did not exit within %s of SIGTERM", i.name, stopDeadline)
	}
	i.mu.Lock()
	stopped, failed := i.stopped, i.failed
	i.mu.Unlock()
	require.NoError(t, i.waitErr, "instance %s: exit after SIGTERM (failed: %q)", i.name, failed)
	require.True(t, stopped, "instance %s exited without reporting a clean stop", i.name)
}

// kill sends SIGKILL and waits until the process is gone.
func (i *instance) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, i.cmd.Process.Kill())
	select {
	case <-i.exited:
	case <-time.After(stopDeadline):
		t.Fatalf("instance %s did not die within %s of SIGKILL", i.name, stopDeadline)
	}
	var exit *exec.ExitError
	require.True(t, errors.As(i.waitErr, &exit), "instance %s: %v", i.name, i.waitErr)
}

// waitProcessed waits until the instance has counted at least n messages
// since it started.
func (i *instance) waitProcessed(t *testing.T, n int64) {
	t.Helper()
	waitFor(t, rebalanceDeadline, fmt.Sprintf("instance %s to process %d messages", i.name, n), func() (bool, string) {
		_, got, failed := i.state()
		if failed != "" || !i.alive() {
			t.Fatalf("instance %s ended: %s", i.name, failed)
		}
		return got >= n, fmt.Sprintf("processed %d", got)
	})
}

// rebalancesNow returns the instance's rebalance metric as of its last
// session's start.
func (i *instance) rebalancesNow() int64 {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.rebalances
}

// processedNow returns the instance's count so far.
func (i *instance) processedNow() int64 {
	_, n, _ := i.state()
	return n
}

// waitAssigned waits until the instances share every partition of the
// input between them, each holding at least one and none held twice, as
// their last sessions report.
func (g *counterGroup) waitAssigned(t *testing.T, insts ...*instance) {
	t.Helper()
	names := make([]string, len(insts))
	for k, inst := range insts {
		names[k] = inst.name
	}
	waitFor(t, rebalanceDeadline, fmt.Sprintf("%v to share the %d partitions", names, g.partitions), func() (bool, string) {
		seen := make(map[int32]string)
		var why []string
		ok := true
		for _, inst := range insts {
			assigned, _, failed := inst.state()
			if failed != "" || !inst.alive() {
				t.Fatalf("instance %s ended: %s", inst.name, failed)
			}
			why = append(why, fmt.Sprintf("%s=%v", inst.name, assigned))
			if len(assigned) == 0 {
				ok = false
			}
			for _, p := range assigned {
				if other, dup := seen[p]; dup {
					ok = false
					why = append(why, fmt.Sprintf("partition %d in %s and %s", p, other, inst.name))
				}
				seen[p] = inst.name
			}
		}
		return ok && len(seen) == int(g.partitions), strings.Join(why, " ")
	})
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
