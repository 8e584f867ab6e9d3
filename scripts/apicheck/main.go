// Command apicheck keeps the promise that a goka v1.1.16 program builds
// against this module: it reads the compiled export data of the module's
// public packages, writes every exported identifier in the line format of
// goka-v1.1.16-exports.txt, and fails on every line of that reference that
// is missing or different here, unless divergences.txt lists it with a
// reason. Lines only this module has are its extensions and pass. Every
// listed divergence must be named in the README's migration table.
//
// goka-v1.1.16-exports.txt is a copy, unchanged, of the project's shared
// reference (reference/goka-v1.1.16-exports.txt beside DESIGN.md), which was
// read from the compiled export data of github.com/lovoo/goka v1.1.16; it
// lists goka's identifiers and signatures, facts rather than code. Its
// header explains the line format, which this program writes too.
//
//	go run ./scripts/apicheck            # the check, as `make vet` runs it
//	go run ./scripts/apicheck -write -   # our lines, in the reference's format
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	dir := flag.String("dir", ".", "the module's root directory")
	reference := flag.String("reference", "scripts/apicheck/goka-v1.1.16-exports.txt", "goka's lines, relative to -dir")
	divergences := flag.String("divergences", "scripts/apicheck/divergences.txt", "the deliberate divergences, relative to -dir")
	readme := flag.String("readme", "README.md", "the README whose migration table names every divergence, relative to -dir")
	write := flag.String("write", "", "also write our lines to this file (- for stdout)")
	flag.Parse()

	ours, err := exportedLines(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "apicheck: %v\n", err)
		os.Exit(2)
	}
	if *write != "" {
		if err := writeLines(*write, ours); err != nil {
			fmt.Fprintf(os.Stderr, "apicheck: %v\n", err)
			os.Exit(2)
		}
	}
	problems, err := checkFiles(filepath.Join(*dir, *reference), filepath.Join(*dir, *divergences), filepath.Join(*dir, *readme), ours)
	if err != nil {
		fmt.Fprintf(os.Stderr, "apicheck: %v\n", err)
		os.Exit(2)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "apicheck: %d problem(s); fix the API, or list the goka line with its reason in %s and name it in the README's migration table:\n", len(problems), *divergences)
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "  "+p)
		}
		os.Exit(1)
	}
}

// exportedLines is our side: every exported identifier of the module in
// dir, in the reference's format.
func exportedLines(dir string) ([]string, error) {
	module, pkgs, err := loadPackages(dir)
	if err != nil {
		return nil, err
	}
	return newWriter(module, pkgs).lines(pkgs), nil
}

// checkFiles compares ours with the reference and divergence files, and
// the divergences with the README.
func checkFiles(referencePath, divergencesPath, readmePath string, ours []string) ([]string, error) {
	rf, err := os.Open(referencePath)
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	reference, err := readLines(rf)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", referencePath, err)
	}
	df, err := os.Open(divergencesPath)
	if err != nil {
		return nil, err
	}
	defer df.Close()
	divs, err := readDivergences(df)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", divergencesPath, err)
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		return nil, err
	}
	return append(compare(reference, ours, divs), checkReadme(string(readme), divs)...), nil
}

func writeLines(path string, lines []string) error {
	text := strings.Join(lines, "\n") + "\n"
	if path == "-" {
		_, err := os.Stdout.WriteString(text)
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
