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

// migrationSection returns the README's "Migrating from goka" section.
func migrationSection(readme string) string {
	start := strings.Index(readme, "\n## Migrating from goka")
	if start < 0 {
		return ""
	}
	rest := readme[start+1:]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

// names returns what a divergence is about, as the README would name it:
// the declared name, and for a method or field also its type.
func names(line string) []string {
	fields := strings.Fields(line)
	if len(fields) < 3 {
		return nil
	}
	switch fields[1] {
	case "method":
		if len(fields) < 4 {
			return nil
		}
		recv := strings.Trim(fields[2], "(*)")
		name := fields[3]
		if i := strings.Index(name, "("); i > 0 {
			name = name[:i]
		}
		return []string{name, recv}
	case "field", "imethod":
		typ, member, _ := strings.Cut(fields[2], ".")
		if i := strings.Index(member, "("); i > 0 {
			member = member[:i]
		}
		return []string{member, typ}
	}
	name := fields[2]
	if i := strings.IndexAny(name, "(["); i > 0 {
		name = name[:i]
	}
	return []string{name}
}

// checkReadme returns a problem for every divergence whose name the
// README's migration table does not mention in code quotes: a user reads
// that table, not this list.
func checkReadme(readme string, divs []divergence) []string {
	section := migrationSection(readme)
	if section == "" {
		return []string{`the README has no "## Migrating from goka" section`}
	}
	var quoted []string
	for i, part := range strings.Split(section, "`") {
		if i%2 == 1 {
			quoted = append(quoted, part)
		}
	}
	mentioned := func(name string) bool {
		for _, q := range quoted {
			for _, word := range strings.FieldsFunc(q, func(r rune) bool {
				return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
			}) {
				if word == name {
					return true
				}
			}
		}
		return false
	}
	var problems []string
	for _, d := range divs {
		found := false
		for _, n := range names(d.line) {
			if mentioned(n) {
				found = true
				break
			}
		}
		if !found {
			problems = append(problems, "divergence not in the README's migration table: "+d.line)
		}
	}
	return problems
}
