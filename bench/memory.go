package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// The kernel's VmHWM is the process's peak resident set size since it
// started, which alone would make every workload report the largest peak of
// any before it. Writing "5" to /proc/self/clear_refs sets it back to the
// current RSS (Linux 4.0 on), and returning the freed Go heap to the kernel
// first makes the current RSS what the process really holds, so the peak
// read at the end of a phase is the phase's own.

// memWindow measures the memory of one phase of a workload.
type memWindow struct {
	before int64
	reset  bool // the peak was reset at the start, so it is the phase's
}

// memStats is what a memWindow measured, in bytes.
type memStats struct {
	// Peak is VmHWM at the end of the phase: the phase's own peak when
	// PeakIsPhase, otherwise the process's since it started.
	Peak        int64 `json:"peak_rss"`
	PeakIsPhase bool  `json:"peak_is_phase"`
	// Delta is VmRSS at the end minus VmRSS at the start.
	Delta int64 `json:"rss_delta"`
}

// openMemWindow frees what the heap no longer uses and resets the peak.
func openMemWindow() memWindow {
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	rss, _ := readStatus("VmRSS")
	return memWindow{before: rss, reset: reset}
}

// close reads the peak and the growth since the window was opened.
func (w memWindow) close() memStats {
	peak, _ := readStatus("VmHWM")
	rss, _ := readStatus("VmRSS")
	return memStats{Peak: peak, PeakIsPhase: w.reset, Delta: rss - w.before}
}

// readStatus returns a "kB" field of /proc/self/status in bytes; 0 and an
// error where there is no such file (not Linux).
func readStatus(field string) (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading process status: %w", err)
	}
	return parseStatus(data, field)
}

// parseStatus finds "field:   1234 kB" in the text of /proc/<pid>/status.
func parseStatus(data []byte, field string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(rest), " ")
		kb, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %s %q: %w", field, rest, err)
		}
		if unit != "kB" {
			return 0, fmt.Errorf("parsing %s: unexpected unit %q", field, unit)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no %s in process status", field)
}
