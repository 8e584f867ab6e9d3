package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
)

// startProfiles starts the CPU profile of the library phase name, when
// -cpuprofile asks for one, and returns what ends it and writes the heap
// profile of -memprofile. Only library phases are profiled: setup and the
// baselines would only blur what the lead optimises.
func (e *env) startProfiles(name string) (stop func()) {
	var cpu *os.File
	if e.opts.cpuProfile != "" {
		path := profilePath(e.opts.cpuProfile, name)
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: cpu profile %s: %v\n", path, err)
			if f != nil {
				f.Close()
			}
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "bench: cpu profile: %v\n", err)
			}
		}
		if e.opts.memProfile != "" {
			writeHeapProfile(profilePath(e.opts.memProfile, name))
		}
	}
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: heap profile: %v\n", err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "bench: heap profile %s: %v\n", path, err)
	}
}

// profilePath inserts the phase name before the extension: cpu.prof and
// "processor" give cpu.processor.prof.
func profilePath(path, name string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + name + ext
}
