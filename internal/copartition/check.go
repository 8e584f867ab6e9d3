package copartition

import (
	"fmt"
	"sort"
	"strings"
)

// Check returns the partition count shared by topics, each given with its
// partitions. It fails with ErrPartitionGap if a topic's partitions are not
// exactly 0..n-1 for some n > 0, and with ErrNotCopartitioned if the counts
// differ; both messages list every topic with its partitions, so the operator
// sees at once which topic to fix.
func Check(topics map[string][]int32) (int, error) {
	if len(topics) == 0 {
		return 0, ErrNoTopics
	}
	var gaps []string
	count := -1
	equal := true
	for topic, partitions := range topics {
		sorted := sortedSet(partitions)
		if !gapFree(sorted) {
			gaps = append(gaps, topic)
			continue
		}
		if count >= 0 && len(sorted) != count {
			equal = false
		}
		count = len(sorted)
	}
	if len(gaps) > 0 {
		sort.Strings(gaps)
		return 0, fmt.Errorf("%w in %s: %s", ErrPartitionGap, strings.Join(gaps, ", "), describe(topics))
	}
	if !equal {
		return 0, fmt.Errorf("%w: %s", ErrNotCopartitioned, describe(topics))
	}
	return count, nil
}

// gapFree reports whether sorted is exactly 0..n-1 for some n > 0.
func gapFree(sorted []int32) bool {
	if len(sorted) == 0 {
		return false
	}
	for i, p := range sorted {
		if p != int32(i) {
			return false
		}
	}
	return true
}
