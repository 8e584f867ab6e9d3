package copartition

import (
	"fmt"
	"slices"
	"strings"
)

// Plan maps each member ID to the partitions of each of its topics it should
// consume.
type Plan map[string]map[string][]int32

// Assign plans the partitions of topics for members, which maps each member ID
// to the topics it subscribes to.
//
// Every topic must have the same partition set. Members are sorted by ID and
// the sorted partitions are split into contiguous ranges, as even as the
// counts allow: member i of m gets the partition indexes from
// floor(i*n/m + 0.5) up to floor((i+1)*n/m + 0.5). A member gets its range in
// every topic it subscribes to, so it owns partition p of all its topics at
// once.
//
// Members with different topic sets are tolerated unless strict is set: during
// a rolling upgrade old and new members must share the group, at the price of
// some partitions of the new topics going unconsumed until every member has
// been upgraded. Members whose range is empty get no entry in the plan.
func Assign(members map[string][]string, topics map[string][]int32, strict bool) (Plan, error) {
	partitions, err := commonPartitions(topics)
	if err != nil {
		return nil, err
	}

	ids := make([]string, 0, len(members))
	subscriptions := make(map[string][]string, len(members))
	for id, subscribed := range members {
		ids = append(ids, id)
		set := slices.Clone(subscribed)
		slices.Sort(set)
		set = slices.Compact(set)
		for _, topic := range set {
			if _, ok := topics[topic]; !ok {
				return nil, fmt.Errorf("%w: member %q subscribes to %q", ErrUnknownTopic, id, topic)
			}
		}
		subscriptions[id] = set
	}
	slices.Sort(ids)

	if strict {
		if err := sameSubscriptions(ids, subscriptions); err != nil {
			return nil, err
		}
	}

	plan := make(Plan, len(ids))
	n, m := len(partitions), len(ids)
	for i, id := range ids {
		lo, hi := Range(i, m, n)
		if lo == hi {
			continue
		}
		assigned := make(map[string][]int32, len(subscriptions[id]))
		for _, topic := range subscriptions[id] {
			assigned[topic] = slices.Clone(partitions[lo:hi])
		}
		if len(assigned) > 0 {
			plan[id] = assigned
		}
	}
	return plan, nil
}

// Range returns the half-open range [lo, hi) of partition indexes that member
// i of m gets out of n partitions: floor(i*n/m + 0.5) to
// floor((i+1)*n/m + 0.5), computed in integers so that no rounding of floating
// point can make two members overlap or leave a gap between them.
func Range(i, m, n int) (lo, hi int) {
	bound := func(k int) int { return (2*k*n + m) / (2 * m) }
	return bound(i), bound(i + 1)
}

// commonPartitions returns the sorted partition set every topic shares.
func commonPartitions(topics map[string][]int32) ([]int32, error) {
	var (
		common []int32
		first  = true
	)
	for _, partitions := range topics {
		sorted := sortedSet(partitions)
		if first {
			common, first = sorted, false
			continue
		}
		if !slices.Equal(common, sorted) {
			return nil, fmt.Errorf("%w: %s", ErrNotCopartitioned, describe(topics))
		}
	}
	return common, nil
}

// sameSubscriptions fails unless every member subscribes to the same topics.
func sameSubscriptions(ids []string, subscriptions map[string][]string) error {
	for _, id := range ids[1:] {
		if !slices.Equal(subscriptions[ids[0]], subscriptions[id]) {
			var b strings.Builder
			for i, id := range ids {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%s=%v", id, subscriptions[id])
			}
			return fmt.Errorf("%w: %s", ErrInconsistentTopics, b.String())
		}
	}
	return nil
}
