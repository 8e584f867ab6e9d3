package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"one sample", ms(7), 50, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even is the lower", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(1, 2, 3), 100, 3 * time.Millisecond},
		{"tiny p is the min", ms(1, 2, 3), 0.1, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, percentile(tc.sorted, tc.p))
		})
	}
}

func TestSummarise(t *testing.T) {
	assert.Nil(t, summarise(nil))
	l := summarise([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond})
	require.NotNil(t, l)
	assert.Equal(t, latency{N: 3, P50: 2, P99: 3, Max: 3}, *l)
}

func TestAddBaselineRatio(t *testing.T) {
	r := newResult("x", "msgs/s", timing{count: 100, elapsed: time.Second})
	r.addBaseline("fast", timing{count: 200, elapsed: time.Second})
	r.addBaseline("none", timing{})
	assert.InDelta(t, 0.5, r.Baselines[0].Ratio, 1e-9)
	assert.Zero(t, r.Baselines[1].Ratio)
}

func TestAddBaselinePairPutsTheFasterFirst(t *testing.T) {
	r := newResult("x", "msgs/s", timing{count: 100, elapsed: time.Second})
	r.addBaselinePair("consumer", timing{count: 400, elapsed: time.Second}, timing{count: 200, elapsed: time.Second})
	require.Len(t, r.Baselines, 2)
	assert.Equal(t, "consumer (sarama defaults)", r.Baselines[0].Name)
	assert.InDelta(t, 0.25, r.Baselines[0].Ratio, 1e-9)
	assert.Equal(t, "consumer (library config)", r.Baselines[1].Name)
	assert.InDelta(t, 0.5, r.Baselines[1].Ratio, 1e-9)

	r = newResult("x", "msgs/s", timing{count: 100, elapsed: time.Second})
	r.addBaselinePair("producer", timing{count: 200, elapsed: time.Second}, timing{count: 400, elapsed: time.Second})
	assert.Equal(t, "producer (library config)", r.Baselines[0].Name)
	assert.InDelta(t, 0.25, r.Baselines[0].Ratio, 1e-9)
	assert.Equal(t, "producer (sarama defaults)", r.Baselines[1].Name)
}

func TestMeasureAllKeepsFastestAndHighestPeak(t *testing.T) {
	var order []string
	runs := []timing{
		{count: 10, elapsed: time.Second, mem: memStats{Peak: 5}},
		{count: 30, elapsed: time.Second, mem: memStats{Peak: 1}},
		{count: 20, elapsed: time.Second, mem: memStats{Peak: 9}},
	}
	i := 0
	a := &measurement{name: "a", run: func() (timing, error) {
		order = append(order, "a")
		i++
		return runs[i-1], nil
	}}
	b := &measurement{name: "b", run: func() (timing, error) {
		order = append(order, "b")
		return timing{count: 1, elapsed: time.Second}, nil
	}}
	require.NoError(t, measureAll(3, a, b))
	assert.Equal(t, []string{"a", "b", "a", "b", "a", "b"}, order, "interleaved")
	assert.Equal(t, int64(30), a.best.count)
	assert.Equal(t, int64(9), a.best.mem.Peak)
}

func TestMeasureAllStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	m := &measurement{name: "m", run: func() (timing, error) {
		calls++
		return timing{}, boom
	}}
	err := measureAll(3, m)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 1, calls)
}
