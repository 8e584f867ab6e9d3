package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// report is the JSON file of a run: enough context to compare two runs.
type report struct {
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Broker   string    `json:"broker"` // "embedded" or the broker list
	Forked   bool      `json:"forked"`
	Host     hostInfo  `json:"host"`
	Sizes    sizes     `json:"sizes"`
	Flags    []string  `json:"flags"`
	Flush    string    `json:"flush"` // Producer.Flush.Frequency in effect
	Results  []result  `json:"results"`
	Failures int       `json:"failures"`
	// Walls is each workload's wall time, setup and every run included.
	Walls []wall `json:"walls"`
}

type wall struct {
	Workload string  `json:"workload"`
	Seconds  float64 `json:"seconds"`
}

// printWalls shows how long each workload took, all runs and setup included.
func printWalls(w io.Writer, walls []wall) {
	parts := make([]string, len(walls))
	for i, wl := range walls {
		parts[i] = fmt.Sprintf("%s %.0fs", wl.Workload, wl.Seconds)
	}
	fmt.Fprintf(w, "\nwall time per workload: %s\n", strings.Join(parts, ", "))
}

type hostInfo struct {
	Hostname string `json:"hostname"`
	CPUs     int    `json:"cpus"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	CPUModel string `json:"cpu_model,omitempty"`
}

func currentHost() hostInfo {
	name, _ := os.Hostname()
	return hostInfo{Hostname: name, CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUModel: cpuModel()}
}

// cpuModel is the first "model name" of /proc/cpuinfo, empty elsewhere.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// writeJSON writes r to path, creating its directory.
func writeJSON(path string, r *report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating the results directory: %w", err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the results: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	return nil
}

// The table has one line per workload and one more per further baseline.
const rowFormat = "%-29s %11s  %-50s %11s %6s %8s %8s %9s %9s\n"

func printHeader(w io.Writer) {
	fmt.Fprintf(w, rowFormat, "workload", "rate", "baseline", "base rate", "ratio", "p50", "p99", "peak RSS", "ΔRSS")
	fmt.Fprintln(w, strings.Repeat("-", 151))
}

func printResult(w io.Writer, r result) {
	if r.Err != "" {
		fmt.Fprintf(w, "%-29s FAILED: %s\n", r.Name, r.Err)
		return
	}
	rate := fmtRate(r.Rate, r.Unit)
	p50, p99 := fmtLatency(r.Latency)
	mem := fmtPeak(r.Mem)
	delta := fmtDelta(r.Mem.Delta)
	if len(r.Baselines) == 0 {
		fmt.Fprintf(w, rowFormat, r.Name, rate, "-", "-", "-", p50, p99, mem, delta)
	}
	for i, b := range r.Baselines {
		if i > 0 {
			// Further baselines: the library's figures are on the first line.
			p50, p99 = "", ""
			if r.Latency == nil && b.Latency != nil {
				p50, p99 = fmtLatency(b.Latency)
			}
			fmt.Fprintf(w, rowFormat, "", "", b.Name, fmtRate(b.Rate, r.Unit), fmt.Sprintf("%.2f", b.Ratio), p50, p99, "", "")
			continue
		}
		fmt.Fprintf(w, rowFormat, r.Name, rate, b.Name, fmtRate(b.Rate, r.Unit), fmt.Sprintf("%.2f", b.Ratio), p50, p99, mem, delta)
		if r.Latency != nil && b.Latency != nil {
			bp50, bp99 := fmtLatency(b.Latency)
			fmt.Fprintf(w, rowFormat, "", "", "  (baseline latency)", "", "", bp50, bp99, "", "")
		}
	}
	if r.Note != "" {
		fmt.Fprintf(w, "%-29s   %s\n", "", r.Note)
	}
}

// fmtRate shows a rate with three significant digits and a k or M suffix.
func fmtRate(rate float64, unit string) string {
	suffix := "/s"
	if unit == "" {
		suffix = ""
	}
	switch {
	case rate >= 1e6:
		return fmt.Sprintf("%.2fM%s", rate/1e6, suffix)
	case rate >= 1e4:
		return fmt.Sprintf("%.1fk%s", rate/1e3, suffix)
	case rate >= 1e3:
		return fmt.Sprintf("%.2fk%s", rate/1e3, suffix)
	default:
		return fmt.Sprintf("%.1f%s", rate, suffix)
	}
}

func fmtLatency(l *latency) (p50, p99 string) {
	if l == nil {
		return "-", "-"
	}
	return fmtMillis(l.P50), fmtMillis(l.P99)
}

func fmtMillis(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.2fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

// fmtPeak shows the peak RSS in MB, starred when it is the process's peak
// rather than the phase's (clear_refs refused).
func fmtPeak(m memStats) string {
	s := fmt.Sprintf("%d MB", m.Peak>>20)
	if !m.PeakIsPhase {
		s += "*"
	}
	return s
}

func fmtDelta(b int64) string {
	return fmt.Sprintf("%+d MB", b/(1<<20))
}
