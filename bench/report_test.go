package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFmtRate(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want string
	}{
		{9.94, "9.9/s"},
		{1234, "1.23k/s"},
		{45210, "45.2k/s"},
		{1_170_000, "1.17M/s"},
	} {
		assert.Equal(t, tc.want, fmtRate(tc.rate, "msgs/s"))
	}
}

func TestPrintResult(t *testing.T) {
	r := newResult("processor", "msgs/s", timing{count: 1000, elapsed: time.Second, mem: memStats{Peak: 40 << 20, PeakIsPhase: true, Delta: 12 << 20}})
	r.addBaseline("pipeline", timing{count: 2000, elapsed: time.Second})
	r.addBaseline("group", timing{count: 4000, elapsed: time.Second})
	r.Note = "a note"
	var out bytes.Buffer
	printResult(&out, r)
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	require.Len(t, lines, 3)
	assert.Regexp(t, `^processor\s+1.00k/s\s+pipeline\s+2.00k/s\s+0.50\s+-\s+-\s+40 MB\s+\+12 MB$`, string(lines[0]))
	assert.Regexp(t, `^\s+group\s+4.00k/s\s+0.25\s*$`, string(lines[1]))
	assert.Regexp(t, `^\s+a note$`, string(lines[2]))

	out.Reset()
	printResult(&out, result{Name: "tester", Err: "boom"})
	assert.Equal(t, "tester                        FAILED: boom\n", out.String())
}

func TestFmtPeakMarksProcessWidePeak(t *testing.T) {
	assert.Equal(t, "3 MB", fmtPeak(memStats{Peak: 3 << 20, PeakIsPhase: true}))
	assert.Equal(t, "3 MB*", fmtPeak(memStats{Peak: 3 << 20}))
}

func TestWriteJSONRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "r.json")
	in := &report{Broker: "embedded", Sizes: quickSizes(), Results: []result{newResult("x", "ops/s", timing{count: 5, elapsed: time.Second})}}
	require.NoError(t, writeJSON(path, in))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out))
	assert.Equal(t, "embedded", out["broker"])
	assert.Equal(t, "500ms", out["sizes"].(map[string]any)["view_dur"])
	assert.InDelta(t, 5.0, out["results"].([]any)[0].(map[string]any)["rate"], 1e-9)
}

func TestProfilePath(t *testing.T) {
	assert.Equal(t, "/tmp/cpu.processor.prof", profilePath("/tmp/cpu.prof", "processor"))
	assert.Equal(t, "cpu.recovery-view", profilePath("cpu", "recovery-view"))
}
