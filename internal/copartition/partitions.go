package copartition

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// sortedSet returns partitions sorted and without duplicates, leaving the
// caller's slice untouched.
func sortedSet(partitions []int32) []int32 {
	sorted := slices.Clone(partitions)
	slices.Sort(sorted)
	return slices.Compact(sorted)
}

// describe lists the topics in name order, each with its sorted partitions,
// for instance "a=[0 1 2], b=[0 1]".
func describe(topics map[string][]int32) string {
	names := make([]string, 0, len(topics))
	for name := range topics {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%v", name, sortedSet(topics[name]))
	}
	return b.String()
}
