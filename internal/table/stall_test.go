package table

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

// stallTestConfig makes a partition give up quickly, if it ever gave up, and
// report often.
func stallTestConfig(lines *logLines, gapCheck GapCheck) func(*Config) {
	return func(c *Config) {
		c.IdleTimeout = 20 * time.Millisecond
		c.ProgressInterval = 30 * time.Millisecond
		c.Logf = lines.logf
		c.GapCheck = gapCheck
	}
}

// waitRecovering waits until cond holds, failing at once when the recovery
// running into done ends first: none of these recoveries may end early.
func waitRecovering(t *testing.T, p *Partition, done <-chan error, lines *logLines, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("recovery ended (error %v) before %s, with offset %d restored; log: %q", err, what, p.Stats().Recovery.Offset, lines.all())
		case <-deadline:
			t.Fatalf("timed out waiting for %s; log: %q", what, lines.all())
		case <-tick.C:
		}
	}
	require.Equal(t, Recovering, p.Signal().State(), "while %s", what)
}

// linesContaining returns the lines holding every part.
func linesContaining(lines *logLines, parts ...string) []string {
	var out []string
	for _, l := range lines.all() {
		ok := true
		for _, part := range parts {
			ok = ok && strings.Contains(l, part)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// TestStalledRecoverWaitsForEveryRecord: a consumer that delivers 3 of 10
// records keeps the partition recovering through many idle timeouts, whether
// or not a gap check is configured, reporting progress all along; once the
// rest comes, recovery ends with all 10.
func TestStalledRecoverWaitsForEveryRecord(t *testing.T) {
	for _, withCheck := range []bool{true, false} {
		t.Run("gap check "+strconv.FormatBool(withCheck), func(t *testing.T) {
			log := newFakeLog(testTopic, testPartition)
			want := map[string]string{}
			for i := range 10 {
				log.addString("k"+strconv.Itoa(i), "v"+strconv.Itoa(i))
				want["k"+strconv.Itoa(i)] = "v" + strconv.Itoa(i)
			}
			log.stall(3)
			st := storage.NewMemory()
			var lines logLines
			var check GapCheck
			if withCheck {
				check = log.gapCheck
			}
			clock := &fakeClock{now: time.Unix(1700000100, 0)}
			p := newPartition(t, log, st, stallTestConfig(&lines, check), func(c *Config) { c.Now = clock.Now })

			done := runAsync(func() error { return p.Recover(context.Background()) })
			waitRecovering(t, p, done, &lines, "3 records restored", func() bool { return p.Stats().Recovery.Offset == 2 })
			// Each progress line comes after at least one more interval
			// without a record, and each interval is longer than the
			// idle timeout that used to end the recovery.
			waitRecovering(t, p, done, &lines, "4 progress lines", func() bool {
				return len(linesContaining(&lines, "still waiting")) >= 4
			})
			if withCheck {
				assert.GreaterOrEqual(t, log.gapCheckCalls(), 1, "the gap was checked")
			}
			s := p.Stats()
			assert.Equal(t, Recovering, s.Status)
			assert.Equal(t, int64(2), s.Recovery.Offset)
			assert.Equal(t, int64(10), s.Recovery.Hwm)
			assert.Equal(t, int64(7), s.Input.OffsetLag)
			assert.False(t, s.Stalled)
			clock.Advance(stallTimeout + time.Second)
			assert.True(t, p.Stats().Stalled, "a recovery without records for minutes is reported stalled")
			assert.Empty(t, linesContaining(&lines, "transaction markers"), "no gap is accepted")

			log.release()
			require.NoError(t, result(t, done))
			assert.Equal(t, Running, p.Signal().State())
			assert.Equal(t, want, contents(t, st))
			assert.Equal(t, int64(9), storedOffset(t, st))
			assert.False(t, p.Stats().Stalled)
		})
	}
}

// TestStalledRecoverReportsProgress: while no record comes, a line naming the
// topic, the partition, the offsets reached and aimed at and the time
// stalled is logged every ProgressInterval.
func TestStalledRecoverReportsProgress(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	for i := range 10 {
		log.addString("k"+strconv.Itoa(i), "v")
	}
	log.stall(3)
	var lines logLines
	p := newPartition(t, log, storage.NewMemory(), stallTestConfig(&lines, log.gapCheck))
	done := runAsync(func() error { return p.Recover(context.Background()) })

	waitRecovering(t, p, done, &lines, "2 progress lines", func() bool { return len(linesContaining(&lines, "still waiting")) >= 2 })
	line := linesContaining(&lines, "still waiting")[0]
	assert.Contains(t, line, `topic "tbl" partition 3`)
	assert.Contains(t, line, "last offset applied 2")
	assert.Contains(t, line, "up to offset 9")
	assert.Regexp(t, `no record for [0-9.hms]+:`, line)

	require.NoError(t, p.Close())
	require.ErrorIs(t, result(t, done), ErrClosed)
}

// TestGapIsAcceptedOnlyWhenProven: trailing offsets without records end the
// recovery only once the gap check says they hold no data; a failing or
// missing check keeps it waiting, and the check is retried.
func TestGapIsAcceptedOnlyWhenProven(t *testing.T) {
	t.Run("no check: never", func(t *testing.T) {
		log := newFakeLog(testTopic, testPartition)
		log.addString("a", "1")
		log.skip(2) // markers, but nothing proves it
		var lines logLines
		p := newPartition(t, log, storage.NewMemory(), stallTestConfig(&lines, nil))
		done := runAsync(func() error { return p.Recover(context.Background()) })
		waitRecovering(t, p, done, &lines, "3 progress lines", func() bool { return len(linesContaining(&lines, "still waiting")) >= 3 })
		require.NoError(t, p.Close())
		require.ErrorIs(t, result(t, done), ErrClosed)
	})
	t.Run("failing check: retried until it answers", func(t *testing.T) {
		log := newFakeLog(testTopic, testPartition)
		log.addString("a", "1")
		log.skip(2)
		log.setGapErr(errors.New("leader not available"))
		var lines logLines
		st := storage.NewMemory()
		p := newPartition(t, log, st, stallTestConfig(&lines, log.gapCheck))
		done := runAsync(func() error { return p.Recover(context.Background()) })
		waitRecovering(t, p, done, &lines, "2 gap checks", func() bool { return log.gapCheckCalls() >= 2 })
		assert.NotEmpty(t, linesContaining(&lines, "leader not available", "offsets 1 to 2"))

		log.setGapErr(nil)
		require.NoError(t, result(t, done))
		assert.Equal(t, int64(0), storedOffset(t, st))
		assert.Equal(t, map[string]string{"a": "1"}, contents(t, st))
		assert.Len(t, linesContaining(&lines, "offsets 1 to 2 hold no data record"), 1)
	})
	t.Run("a check that finds data: waits for it", func(t *testing.T) {
		log := newFakeLog(testTopic, testPartition)
		log.addString("a", "1")
		log.addString("b", "2")
		log.skip(1)
		log.stall(1)
		var lines logLines
		st := storage.NewMemory()
		p := newPartition(t, log, st, stallTestConfig(&lines, log.gapCheck))
		done := runAsync(func() error { return p.Recover(context.Background()) })
		waitRecovering(t, p, done, &lines, "2 gap checks", func() bool { return log.gapCheckCalls() >= 2 })

		log.release()
		require.NoError(t, result(t, done))
		assert.Equal(t, map[string]string{"a": "1", "b": "2"}, contents(t, st))
		assert.Equal(t, int64(1), storedOffset(t, st), "the marker at 2 ends the recovery, once proven")
	})
}

// timeoutError is what a client reports when a request gets no answer in
// time.
type timeoutError struct{}

func (timeoutError) Error() string   { return "read tcp: i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// TestRecoverWaitsThroughConsumerTimeouts: a consumer that reports a request
// timeout (and retries by itself, as sarama's does) leaves the recovery
// waiting; any other consumer error still ends it (see
// TestConsumerErrorEndsRecover), and so does a timeout while following.
func TestRecoverWaitsThroughConsumerTimeouts(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	for i := range 10 {
		log.addString("k"+strconv.Itoa(i), "v")
	}
	log.stall(3)
	st := storage.NewMemory()
	var lines logLines
	p := newPartition(t, log, st, stallTestConfig(&lines, log.gapCheck))
	done := runAsync(func() error { return p.Recover(context.Background()) })
	waitRecovering(t, p, done, &lines, "3 records restored", func() bool { return p.Stats().Recovery.Offset == 2 })

	log.fail(timeoutError{})
	log.fail(timeoutError{})
	waitRecovering(t, p, done, &lines, "the timeouts logged and 2 progress lines after them", func() bool {
		return len(linesContaining(&lines, "recovery at offset 3: read tcp: i/o timeout; the consumer retries")) == 2 &&
			len(linesContaining(&lines, "still waiting")) >= 2
	})

	log.release()
	require.NoError(t, result(t, done))
	assert.Equal(t, int64(9), storedOffset(t, st))

	t.Run("following", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := runAsync(func() error { return p.Follow(ctx) })
		// The follower's consumer, not the recovery's, which closes in the
		// background.
		require.Eventually(t, func() bool { return len(log.startOffsets()) == 2 && log.openConsumers() == 1 }, waitTimeout, time.Millisecond)
		log.fail(timeoutError{})
		err := result(t, done)
		var kerr *KafkaError
		require.ErrorAs(t, err, &kerr, "a follower hands a timeout to its caller, which restarts it")
	})
}
