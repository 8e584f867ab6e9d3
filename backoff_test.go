package goka

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSimpleBackoffSequence(t *testing.T) {
	tests := []struct {
		name      string
		step, max time.Duration
		want      []time.Duration
	}{
		{
			name: "linear then capped",
			step: time.Second, max: 3500 * time.Millisecond,
			want: []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 3500 * time.Millisecond, 3500 * time.Millisecond},
		},
		{
			name: "max is a multiple of step",
			step: 10 * time.Second, max: 30 * time.Second,
			want: []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second, 30 * time.Second},
		},
		{
			name: "max below step",
			step: time.Minute, max: time.Second,
			want: []time.Duration{0, time.Second, time.Second},
		},
		{
			name: "zero step never waits",
			step: 0, max: time.Minute,
			want: []time.Duration{0, 0, 0},
		},
		{
			name: "huge values do not overflow",
			step: math.MaxInt64, max: math.MaxInt64,
			want: []time.Duration{0, math.MaxInt64, math.MaxInt64},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewSimpleBackoff(tt.step, tt.max)
			for i, want := range tt.want {
				assert.Equal(t, want, b.Duration(), "call %d", i)
			}
		})
	}
}

func TestSimpleBackoffReset(t *testing.T) {
	b := NewSimpleBackoff(time.Second, time.Minute)
	b.Duration()
	b.Duration()
	b.Duration()
	b.Reset()
	assert.Equal(t, time.Duration(0), b.Duration())
	assert.Equal(t, time.Second, b.Duration())
}

func TestSimpleBackoffConcurrent(t *testing.T) {
	const goroutines, calls = 8, 100
	b := NewSimpleBackoff(time.Millisecond, time.Hour)
	var wg sync.WaitGroup
	seen := make(chan time.Duration, goroutines*calls)
	for range goroutines {
		wg.Go(func() {
			for range calls {
				seen <- b.Duration()
			}
		})
	}
	wg.Wait()
	close(seen)

	// Every step of the sequence is handed out exactly once.
	got := make(map[time.Duration]bool)
	for d := range seen {
		require.False(t, got[d], "duration %v handed out twice", d)
		got[d] = true
	}
	assert.Len(t, got, goroutines*calls)
	assert.Equal(t, goroutines*calls*time.Millisecond, b.Duration())
}

func TestDefaultBackoffBuilder(t *testing.T) {
	b, err := DefaultBackoffBuilder()
	require.NoError(t, err)
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second}
	for i := 0; i < 12; i++ {
		want = append(want, min(time.Duration(i+3)*10*time.Second, 2*time.Minute))
	}
	for i, w := range want {
		assert.Equal(t, w, b.Duration(), "call %d", i)
	}
}
