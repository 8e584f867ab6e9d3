package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// startProfiles starts the CPU profile of the library phase name, when
// -cpuprofile asks for one, and returns what ends it and writes the heap,
// mutex and block profiles asked for. Only library phases are profiled:
// setup and the baselines would only blur what is to be optimised.
func (e *env) startProfiles(name string) (stop func()) {
	if e.opts.mutexProf != "" {
		runtime.SetMutexProfileFraction(1)
	}
	if e.opts.blockProf != "" {
		// Every blocking event of 10µs or more; shorter ones are sampled.
		runtime.SetBlockProfileRate(int((10 * time.Microsecond).Nanoseconds()))
	}
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
			writeProfile("heap", profilePath(e.opts.memProfile, name))
		}
		if e.opts.mutexProf != "" {
			writeProfile("mutex", profilePath(e.opts.mutexProf, name))
			runtime.SetMutexProfileFraction(0)
		}
		if e.opts.blockProf != "" {
			writeProfile("block", profilePath(e.opts.blockProf, name))
			runtime.SetBlockProfileRate(0)
		}
	}
}

// writeProfile writes a runtime/pprof profile. The mutex and block profiles
// accumulate over the process's life; each child runs one workload, so a
// phase's file holds that phase and the library phases before it in the
// same workload.
func writeProfile(kind, path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s profile: %v\n", kind, err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup(kind).WriteTo(f, 0); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s profile %s: %v\n", kind, path, err)
	}
}

// profilePath inserts the phase name before the extension: cpu.prof and
// "processor" give cpu.processor.prof.
func profilePath(path, name string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + name + ext
}
