package copartition

import (
	"cmp"
	"slices"
)

// Member is what a member of a cooperative group reports when it joins: the
// topics it subscribes to and the partition numbers it still runs.
type Member struct {
	Topics []string
	// Owned are the partition numbers the member holds in any topic.
	Owned []int32
	// Generation is the generation its ownership dates from, -1 when the
	// member does not say (subscriptions before version 2 carry none).
	Generation int32
}

// AssignSticky plans the partitions of topics for members so that as few as
// possible move, for the incremental cooperative protocol (KIP-429), where a
// partition that stays with its member keeps running through the rebalance.
//
// Every member gets floor(n/m) or ceil(n/m) of the n partitions, the larger
// share going to the members that own the most (ties by ID), so that a
// member keeps what it owns up to its share, its lowest partitions first.
// The partitions that nobody keeps are handed out in ascending order to the
// members below their share, in ID order. With no owners at all (a new
// group, or members under the eager protocol) the plan is Assign's. A partition two members claim (one of them
// lost it without knowing) counts for the one with the newer generation,
// else the lower ID.
//
// A partition a member gets but another member still owns is withheld (see
// Withhold): the owner first stops it and rejoins, and the follow-up
// rebalance, in which nobody owns it any more, hands it over. The plan of
// that follow-up is the same as the first one's without the withholding, so
// a scale-out settles in two rounds.
//
// Members get their partitions in every topic they subscribe to, as with
// Assign, whose rules (common partition sets, strict subscriptions) apply.
func AssignSticky(members map[string]Member, topics map[string][]int32, strict bool) (Plan, error) {
	if len(members) == 0 {
		return Plan{}, nil
	}
	subscriptions := make(map[string][]string, len(members))
	for id, m := range members {
		subscriptions[id] = m.Topics
	}
	// Assign validates the topics and subscriptions; its ranges are the
	// plan when nobody owns anything (a new group, or the eager protocol).
	ranges, err := Assign(subscriptions, topics, strict)
	if err != nil {
		return nil, err
	}
	if !anyOwned(members) {
		return ranges, nil
	}
	partitions, _ := commonPartitions(topics)
	numbers := assignNumbers(members, partitions)
	plan := make(Plan, len(numbers))
	for id, parts := range numbers {
		set := slices.Clone(subscriptions[id])
		slices.Sort(set)
		set = slices.Compact(set)
		assigned := make(map[string][]int32, len(set))
		for _, topic := range set {
			assigned[topic] = slices.Clone(parts)
		}
		if len(assigned) > 0 {
			plan[id] = assigned
		}
	}
	Withhold(plan, members)
	return plan, nil
}

func anyOwned(members map[string]Member) bool {
	for _, m := range members {
		if len(m.Owned) > 0 {
			return true
		}
	}
	return false
}

// assignNumbers returns the partition numbers of each member that gets any.
func assignNumbers(members map[string]Member, partitions []int32) map[string][]int32 {
	exists := make(map[int32]bool, len(partitions))
	for _, p := range partitions {
		exists[p] = true
	}
	// The member each owned partition counts for.
	owner := make(map[int32]string)
	for id, m := range members {
		for _, p := range m.Owned {
			if !exists[p] {
				continue
			}
			prev, ok := owner[p]
			if !ok || newerClaim(members[id], id, members[prev], prev) {
				owner[p] = id
			}
		}
	}
	owned := make(map[string][]int32, len(members))
	for _, p := range partitions {
		if id, ok := owner[p]; ok {
			owned[id] = append(owned[id], p)
		}
	}

	ids := make([]string, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	// The larger shares go to the members that own the most.
	slices.SortFunc(ids, func(a, b string) int {
		if c := cmp.Compare(len(owned[b]), len(owned[a])); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	n, m := len(partitions), len(ids)
	share := make(map[string]int, m)
	for i, id := range ids {
		share[id] = n / m
		if i < n%m {
			share[id]++
		}
	}

	result := make(map[string][]int32, m)
	kept := make(map[int32]bool, n)
	for _, id := range ids {
		keep := owned[id][:min(len(owned[id]), share[id])]
		result[id] = slices.Clone(keep)
		for _, p := range keep {
			kept[p] = true
		}
	}
	slices.Sort(ids)
	free := make([]int32, 0, n)
	for _, p := range partitions {
		if !kept[p] {
			free = append(free, p)
		}
	}
	for _, id := range ids {
		take := min(share[id]-len(result[id]), len(free))
		result[id] = append(result[id], free[:take]...)
		free = free[take:]
		slices.Sort(result[id])
		if len(result[id]) == 0 {
			delete(result, id)
		}
	}
	return result
}

// newerClaim reports whether member a's claim on a partition beats b's.
func newerClaim(a Member, aID string, b Member, bID string) bool {
	if a.Generation != b.Generation {
		return a.Generation > b.Generation
	}
	return aID < bID
}

// Withhold removes from plan every partition a member gets that another
// member still owns, in all of the member's topics at once, so that a
// partition never runs on two members: its owner, told to give it up, stops
// it and rejoins, and a follow-up rebalance hands it over.
func Withhold(plan Plan, members map[string]Member) {
	owners := make(map[int32][]string)
	for id, m := range members {
		for _, p := range m.Owned {
			owners[p] = append(owners[p], id)
		}
	}
	for id, topics := range plan {
		for topic, parts := range topics {
			parts = slices.DeleteFunc(parts, func(p int32) bool {
				for _, owner := range owners[p] {
					if owner != id && !slices.Contains(members[id].Owned, p) {
						return true
					}
				}
				return false
			})
			if len(parts) == 0 {
				delete(topics, topic)
				continue
			}
			topics[topic] = parts
		}
		if len(topics) == 0 {
			delete(plan, id)
		}
	}
}
