package systemtest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// brokerScriptDeadline bounds one stop or start of the broker by the script.
const brokerScriptDeadline = 2 * time.Minute

// brokerScript is scripts/kafka.sh, for the tests that stop and start the
// broker. It skips the test when the broker under test is not the one the
// script runs: stopping someone else's broker is not a test's business.
type brokerScript struct {
	path string
}

func newBrokerScript(t *testing.T, c *cluster) *brokerScript {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "scripts", "kafka.sh"))
	require.NoError(t, err)
	s := &brokerScript{path: path}
	out, err := s.run(t, "status")
	if err != nil || !strings.Contains(out, "broker="+c.brokers[0]) {
		t.Skipf("the broker at %v was not started by scripts/kafka.sh (status: %s): not restarting it", c.brokers, strings.TrimSpace(out))
	}
	return s
}

// run runs the script with a command and returns its output.
func (s *brokerScript) run(t *testing.T, command string, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), brokerScriptDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.path, command)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kafka.sh %s: %w", command, err)
	}
	return string(out), nil
}

// stop stops the broker; the test's cleanup starts it again on the same
// data if the test does not, whatever happens to the test.
func (s *brokerScript) stop(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if _, err := s.run(t, "status"); err == nil {
			return
		}
		if out, err := s.start(t); err != nil {
			t.Errorf("starting the broker again after the test: %v\n%s", err, out)
		}
	})
	out, err := s.run(t, "stop")
	require.NoError(t, err, out)
}

// start starts the broker on the data it had: topics, table contents and
// committed offsets survive.
func (s *brokerScript) start(t *testing.T) (string, error) {
	t.Helper()
	return s.run(t, "start", "KAFKA_KEEP_DATA=1")
}

// TestBrokerRestart stops the broker under a processor and a view, and
// starts it again on the same data. The view reconnects by itself and
// catches up; a processor started again on its kept store resumes from the
// offsets committed before the stop, so every message is counted once.
func TestBrokerRestart(t *testing.T) {
	const partitions, keys, perKey = 6, 50, 6
	c := newCluster(t)
	script := newBrokerScript(t, c)
	cfg, tmc := systemtest.FastConfig(), systemtest.TopicManagerConfig()
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	table := tableOf(group)
	c.createStream(input, partitions)
	c.deleteLater(string(table))
	want := make(map[string]int64, keys)
	emit := func() {
		em, err := goka.NewEmitter(c.brokers, goka.Stream(input), new(codec.Int64), systemtest.EmitterOptions(cfg, tmc)...)
		require.NoError(t, err)
		for range perKey {
			for k := range keys {
				require.NoError(t, em.EmitSync(keyName(k), int64(1)))
				want[keyName(k)]++
			}
		}
		require.NoError(t, em.Finish())
	}
	dir := t.TempDir()
	startCounter := func(name string) *run {
		proc, err := goka.NewProcessor(c.brokers, systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil),
			append(systemtest.ProcessorOptions(cfg, tmc, storage.DefaultBuilder(dir)), goka.WithLogger(testLogger{t, name}))...)
		require.NoError(t, err)
		return startProcessor(t, proc)
	}

	first := startCounter("processor")
	view, err := goka.NewView(c.brokers, table, new(codec.Int64),
		append(systemtest.ViewOptions(cfg, tmc, storage.MemoryBuilder()),
			goka.WithViewAutoReconnect(),
			goka.WithViewBackoffBuilder(func() (goka.Backoff, error) { return goka.NewSimpleBackoff(time.Second, 3*time.Second), nil }),
			goka.WithViewLogger(testLogger{t, "view"}))...)
	require.NoError(t, err)
	startView(t, view)
	emit()
	c.waitConsumed(group, input, partitions, first)
	waitView(t, c, view, want, "the view to show the counts")
	committed, err := c.committed(group, input, partitions)
	require.NoError(t, err)

	stopAt := time.Now()
	script.stop(t)
	stopTook := time.Since(stopAt)
	// The processor ends with an error once the broker is gone, or goes on
	// retrying; either way it is replaced by a new one after the restart.
	var firstErr error
	select {
	case <-first.done:
		firstErr = first.err
		require.Error(t, firstErr, "Run ended by itself, so with an error")
	case <-time.After(cutDetectDeadline):
		firstErr = fmt.Errorf("still running %s after the stop", cutDetectDeadline)
		require.NoError(t, first.stop(t), "a cancelled Run returns nil")
	}
	ok, why := viewMatches(view, want)
	require.True(t, ok, "the view while the broker is down: %s", why)

	startAt := time.Now()
	out, err := script.start(t)
	require.NoError(t, err, out)
	startTook := time.Since(startAt)
	// The emitter below has few retries; the processor must cope on its own.
	c.waitOffsets(input, partitions)
	// The group's offsets are readable once the coordinator has loaded them.
	waitFor(t, rebalanceDeadline, "the committed offsets after the restart", func() (bool, string) {
		got, err := c.committed(group, input, partitions)
		if err != nil {
			return false, err.Error()
		}
		return fmt.Sprint(got) == fmt.Sprint(committed), fmt.Sprintf("committed %v, before the stop %v", got, committed)
	})

	emit()
	second := startCounter("processor 2")
	c.waitConsumed(group, input, partitions, second)
	waitView(t, c, view, want, "the view to catch up after the restart")
	caughtUp := time.Since(startAt)
	require.NoError(t, second.stop(t))

	v := compareCounts(readTable(t, c.brokers, table), want)
	t.Logf("summary: broker restart: stop took %s, start %s; first processor: %s; view caught up %s after the start; table: %s",
		stopTook.Round(time.Millisecond), startTook.Round(time.Millisecond), shortErr(firstErr), caughtUp.Round(time.Millisecond), v)
	v.requireExact(t)
}
