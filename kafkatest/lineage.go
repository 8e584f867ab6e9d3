package kafkatest

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
)

// kfake starts goroutines (its request loop, one accept loop per broker, two
// per client connection, short-lived helpers) and its Close does not wait for
// them. A test that checks for leaked goroutines right after Close would see
// them, so Close waits instead, and to wait it has to know which goroutines
// are this cluster's: several clusters may run side by side in one test
// binary. The runtime names, for every goroutine, the goroutine that created
// it ("created by F in goroutine N"), and goroutine IDs are never reused, so
// the goroutines NewCluster saw kfake start are roots, and everything created
// by a root, or by anything created by a root, belongs to the cluster.

// goroutine is one entry of a full stack dump.
type goroutine struct {
	id      uint64
	creator uint64 // 0 when the dump does not name one
	// createdBy is the function named on the "created by" line.
	createdBy string
}

// lineage is the set of goroutine IDs known to belong to one cluster.
type lineage map[uint64]struct{}

// kfakePrefix is how the runtime names functions of the kfake package.
const kfakePrefix = "github.com/twmb/franz-go/pkg/kfake."

// currentGoroutineID returns the ID of the calling goroutine, the goroutine a
// root's "created by ... in goroutine N" line names.
func currentGoroutineID() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _ := parseHeader(buf)
	return id
}

// dumpGoroutines lists every goroutine of the process.
func dumpGoroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	for block := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if g, ok := parseGoroutine(block); ok {
			gs = append(gs, g)
		}
	}
	return gs
}

// parseGoroutine reads one block of a stack dump: a "goroutine N [...]:"
// header, frames, and, for all but the main goroutine, a "created by" line.
func parseGoroutine(block []byte) (goroutine, bool) {
	id, ok := parseHeader(block)
	if !ok {
		return goroutine{}, false
	}
	g := goroutine{id: id}
	const createdBy = "\ncreated by "
	i := bytes.LastIndex(block, []byte(createdBy))
	if i < 0 {
		return g, true
	}
	line := block[i+len(createdBy):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	const in = " in goroutine "
	if j := bytes.LastIndex(line, []byte(in)); j >= 0 {
		g.creator, _ = strconv.ParseUint(string(line[j+len(in):]), 10, 64)
		line = line[:j]
	}
	g.createdBy = string(line)
	return g, true
}

// parseHeader reads N from a block starting with "goroutine N [" or, with
// GOTRACEBACK=system, "goroutine N gp=...".
func parseHeader(block []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(bytes.TrimLeft(block, "\n"), []byte("goroutine "))
	if !ok {
		return 0, false
	}
	end := bytes.IndexByte(rest, ' ')
	if end < 0 {
		return 0, false
	}
	id, err := strconv.ParseUint(string(rest[:end]), 10, 64)
	return id, err == nil
}

// goroutineIDs returns the IDs of gs, to tell the goroutines that existed
// before a cluster was started from those it started.
func goroutineIDs(gs []goroutine) map[uint64]struct{} {
	ids := make(map[uint64]struct{}, len(gs))
	for _, g := range gs {
		ids[g.id] = struct{}{}
	}
	return ids
}

// kfakeRoots returns the goroutines that a call into kfake made by goroutine
// caller started, given the goroutines that existed before the call.
func kfakeRoots(before map[uint64]struct{}, after []goroutine, caller uint64) lineage {
	roots := make(lineage)
	for _, g := range after {
		if _, old := before[g.id]; old {
			continue
		}
		if g.creator == caller && strings.HasPrefix(g.createdBy, kfakePrefix) {
			roots[g.id] = struct{}{}
		}
	}
	return roots
}

// alive extends l with the descendants found in gs and reports how many of
// l's goroutines are in gs. A goroutine's creator may appear later in the
// dump than the goroutine, so the scan repeats until nothing is added.
func (l lineage) alive(gs []goroutine) int {
	for grown := true; grown; {
		grown = false
		for _, g := range gs {
			if _, known := l[g.id]; known {
				continue
			}
			if _, ours := l[g.creator]; ours && g.creator != 0 {
				l[g.id] = struct{}{}
				grown = true
			}
		}
	}
	n := 0
	for _, g := range gs {
		if _, ours := l[g.id]; ours {
			n++
		}
	}
	return n
}
