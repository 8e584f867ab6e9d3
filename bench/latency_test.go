package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStampsWindowCountsWhatWasAcknowledgedInIt(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var st stamps
	st.ack(0, at(0))
	st.see(0, at(3))
	st.see(1, at(9)) // seen before its acknowledgement: latency 0
	st.ack(1, at(10))
	st.ack(2, at(20)) // not seen
	st.ack(3, at(30)) // outside the window
	st.see(3, at(31))
	st.see(0, at(50)) // a redelivery does not move the first sight

	lat, unseen := st.window(at(0), at(30))
	assert.Equal(t, []time.Duration{3 * time.Millisecond, 0}, lat)
	assert.Equal(t, 1, unseen)
	assert.Equal(t, 1, st.missing(3))
	assert.Equal(t, 2, st.missing(5))
	assert.Equal(t, 0, st.missing(2))
}

func TestAwaitSeenFailsAtTheReadersError(t *testing.T) {
	var st stamps
	st.ack(0, time.Now())
	st.fail(assert.AnError)
	require.ErrorIs(t, st.awaitSeen(context.Background(), time.Time{}, time.Now().Add(time.Hour)), assert.AnError)
}

func TestPooledPercentilesSpanRuns(t *testing.T) {
	var p pooled
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	p.add([]time.Duration{ms(1), ms(2)}, time.Second, memStats{Peak: 10, PeakIsPhase: true})
	lat := make([]time.Duration, 98)
	for i := range lat {
		lat[i] = ms(1)
	}
	lat[0] = ms(50)
	p.add(lat, time.Second, memStats{Peak: 30, PeakIsPhase: true})
	tm := p.timing()
	assert.Equal(t, int64(100), tm.count)
	assert.Equal(t, 2*time.Second, tm.elapsed)
	assert.Equal(t, int64(30), tm.mem.Peak)
	require.NotNil(t, tm.lat)
	assert.InDelta(t, 2.0, tm.lat.P99, 1e-9)
	assert.InDelta(t, 50.0, tm.lat.Max, 1e-9)
}

func TestPaceHoldsTheRate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var sent []int64
	require.NoError(t, pace(ctx, 1000, func(seq int64) error {
		sent = append(sent, seq)
		return nil
	}))
	// 300 ms at 1,000/s: what was due, however late the ticks came.
	assert.InDelta(t, 300, len(sent), 30)
	for i, seq := range sent {
		require.Equal(t, int64(i), seq)
	}
}

func TestPaceStopsQuietlyWhenCancelledInASend(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, pace(ctx, 1000, func(int64) error {
		cancel()
		return ctx.Err()
	}))
	require.Error(t, pace(context.Background(), 1000, func(int64) error { return assert.AnError }))
}

func TestSeqOfSkipsThePrefill(t *testing.T) {
	_, ok := seqOf([]byte("0"))
	assert.False(t, ok)
	seq, ok := seqOf(valueOf(41))
	require.True(t, ok)
	assert.Equal(t, int64(41), seq)
}

func TestTargetNote(t *testing.T) {
	assert.Equal(t, "view p99 1.50ms (max 31ms): target < 20ms met", targetNote("view", &latency{P99: 1.5, Max: 31}))
	assert.Equal(t, "raw p99 20ms (max 20ms): target < 20ms MISSED", targetNote("raw", &latency{P99: 20, Max: 20}))
	assert.Equal(t, "raw: no samples", targetNote("raw", nil))
}
