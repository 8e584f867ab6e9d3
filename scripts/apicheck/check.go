package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// readLines returns the non-comment, non-blank lines of a reference list.
func readLines(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), " \t\r")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, l)
	}
	return lines, sc.Err()
}

// divergence is a goka line this module deliberately does not have as
// goka has it, and why.
type divergence struct {
	line   string
	reason string
	at     int // line number in the list, for messages
}

// readDivergences parses the divergence list: an entry is a reference
// line, as it stands in the reference, followed by its reason on one or
// more indented lines; several entry lines in a row share the reason that
// follows them. Comments start with '#'. An entry without a reason is an
// error: the list exists to say why.
func readDivergences(r io.Reader) ([]divergence, error) {
	var (
		out        []divergence
		group      []int // entries the next reason line belongs to
		reasonSeen bool  // the group has its reason; an entry line starts the next
	)
	sc := bufio.NewScanner(r)
	var errs []string
	n := 0
	for sc.Scan() {
		n++
		raw := strings.TrimRight(sc.Text(), " \t\r")
		if raw == "" || strings.HasPrefix(strings.TrimSpace(raw), "#") {
			continue
		}
		if raw[0] != ' ' && raw[0] != '\t' {
			if reasonSeen {
				group, reasonSeen = nil, false
			}
			out = append(out, divergence{line: raw, at: n})
			group = append(group, len(out)-1)
			continue
		}
		if len(group) == 0 {
			errs = append(errs, fmt.Sprintf("line %d: a reason before any entry", n))
			continue
		}
		for _, i := range group {
			out[i].reason = strings.TrimSpace(out[i].reason + " " + strings.TrimSpace(raw))
		}
		reasonSeen = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, d := range out {
		if d.reason == "" {
			errs = append(errs, fmt.Sprintf("line %d: divergence without a reason: %s", d.at, d.line))
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("divergence list: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// compare returns a problem for every reference line that is not among
// ours, unless listed as a divergence, and for every divergence that is no
// longer one (the line is back, or was never goka's): a stale entry would
// hide the next accidental change of that line. Lines only we have are our
// extensions and fine.
func compare(reference, ours []string, divs []divergence) []string {
	have := make(map[string]bool, len(ours))
	for _, l := range ours {
		have[l] = true
	}
	inRef := make(map[string]bool, len(reference))
	for _, l := range reference {
		inRef[l] = true
	}
	listed := make(map[string]bool, len(divs))
	var problems []string
	for _, d := range divs {
		if listed[d.line] {
			problems = append(problems, "divergence listed twice: "+d.line)
		}
		listed[d.line] = true
		switch {
		case !inRef[d.line]:
			problems = append(problems, "divergence is not a line of the reference: "+d.line)
		case have[d.line]:
			problems = append(problems, "divergence no longer diverges, remove it from the list: "+d.line)
		}
	}
	for _, l := range reference {
		if have[l] || listed[l] {
			continue
		}
		msg := "missing or different here: " + l
		if near := nearest(l, ours); near != "" {
			msg += "\n\there: " + near
		}
		problems = append(problems, msg)
	}
	return problems
}

// nearest finds our line for the same identifier as ref, so that a changed
// signature shows both versions.
func nearest(ref string, ours []string) string {
	key := identity(ref)
	for _, l := range ours {
		if identity(l) == key {
			return l
		}
	}
	return ""
}

// identity is a line up to its declared name: "pkg kind Name" or, for
// methods, "pkg method (Recv) Name".
func identity(line string) string {
	fields := strings.Fields(line)
	if len(fields) < 3 {
		return line
	}
	name := fields[2]
	if fields[1] == "method" && len(fields) > 3 {
		name = strings.TrimPrefix(strings.TrimPrefix(fields[2], "(*"), "(") + fields[3]
	}
	if i := strings.IndexAny(name, "(["); i > 0 {
		name = name[:i]
	}
	return fields[0] + " " + fields[1] + " " + name
}
