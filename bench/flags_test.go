package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parse(t *testing.T, args ...string) (*options, error) {
	t.Helper()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return parseFlags(fs, args)
}

func TestParseFlagsDefaults(t *testing.T) {
	o, err := parse(t)
	require.NoError(t, err)
	assert.Equal(t, defaultSizes(), o.sizes)
	assert.Equal(t, defaultWorkloads, o.only)
	assert.Equal(t, 3, o.runs)
	assert.True(t, o.fork)
	assert.Empty(t, o.brokers)
	assert.Empty(t, o.passOn)
}

func TestParseFlagsQuickKeepsExplicitSizes(t *testing.T) {
	o, err := parse(t, "-quick", "-proc-n=123", "-view-dur=2s")
	require.NoError(t, err)
	want := quickSizes()
	want.ProcN = 123
	want.ViewDur = dur(2 * time.Second)
	assert.Equal(t, want, o.sizes)
	assert.Equal(t, 1, o.runs)
	assert.ElementsMatch(t, []string{"-quick=true", "-proc-n=123", "-view-dur=2s"}, o.passOn)
}

func TestParseFlagsPassOnLeavesParentFlags(t *testing.T) {
	o, err := parse(t, "-only=tester,recovery-1m", "-json=-", "-brokers=a:1,b:2", "-fork=false", "-runs=2", "-flush=5ms")
	require.NoError(t, err)
	assert.Equal(t, []string{"tester", "recovery-1m"}, o.only)
	assert.Equal(t, []string{"a:1", "b:2"}, o.brokers)
	assert.False(t, o.fork)
	assert.Equal(t, 5*time.Millisecond, o.flush)
	assert.ElementsMatch(t, []string{"-runs=2", "-flush=5ms"}, o.passOn)
}

func TestParseFlagsRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown workload", []string{"-only=emitter,nope"}},
		{"zero size", []string{"-proc-n=0"}},
		{"negative duration", []string{"-view-dur=-1s"}},
		{"zero freshness window", []string{"-fresh-win=0s"}},
		{"zero latency duration", []string{"-lat-dur=0s"}},
		{"zero partitions of many-partitions", []string{"-many-parts=0"}},
		{"zero runs", []string{"-runs=0"}},
		{"stray argument", []string{"extra"}},
		{"unknown flag", []string{"-nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.args...)
			assert.Error(t, err)
		})
	}
}
