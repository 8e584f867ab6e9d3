package copartition

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func partitionsUpTo(n int) []int32 {
	ps := make([]int32, n)
	for i := range ps {
		ps[i] = int32(i)
	}
	return ps
}

// numbersOf returns the partition numbers of one member's plan, checking
// that every topic it got has the same ones.
func numbersOf(t *testing.T, plan Plan, id string) []int32 {
	t.Helper()
	var first []int32
	seen := false
	for topic, parts := range plan[id] {
		if !seen {
			first, seen = parts, true
			continue
		}
		require.Equal(t, first, parts, "member %s, topic %s: not co-partitioned: %v", id, topic, plan[id])
	}
	return first
}

func TestAssignStickyWithoutOwnersIsTheRanges(t *testing.T) {
	topics := map[string][]int32{"in": partitionsUpTo(8), "table": partitionsUpTo(8)}
	members := map[string]Member{}
	subs := map[string][]string{}
	for _, id := range []string{"c", "a", "b"} {
		members[id] = Member{Topics: []string{"in", "table"}, Generation: -1}
		subs[id] = []string{"in", "table"}
	}
	sticky, err := AssignSticky(members, topics, false)
	require.NoError(t, err)
	ranges, err := Assign(subs, topics, false)
	require.NoError(t, err)
	assert.Equal(t, ranges, sticky)
}

func TestAssignStickyScaleOutWithholdsUntilRevoked(t *testing.T) {
	topics := map[string][]int32{"in": partitionsUpTo(6), "table": partitionsUpTo(6)}
	sub := []string{"in", "table"}
	members := map[string]Member{
		"a": {Topics: sub, Owned: []int32{0, 1, 2}, Generation: -1},
		"b": {Topics: sub, Owned: []int32{3, 4, 5}, Generation: -1},
		"c": {Topics: sub, Generation: -1},
	}
	plan, err := AssignSticky(members, topics, false)
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1}, numbersOf(t, plan, "a"))
	assert.Equal(t, []int32{3, 4}, numbersOf(t, plan, "b"))
	assert.NotContains(t, plan, "c", "2 and 5 are still owned by a and b: withheld")

	// The follow-up: a and b gave up 2 and 5.
	members["a"] = Member{Topics: sub, Owned: []int32{0, 1}, Generation: -1}
	members["b"] = Member{Topics: sub, Owned: []int32{3, 4}, Generation: -1}
	plan, err = AssignSticky(members, topics, false)
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1}, numbersOf(t, plan, "a"))
	assert.Equal(t, []int32{3, 4}, numbersOf(t, plan, "b"))
	assert.Equal(t, []int32{2, 5}, numbersOf(t, plan, "c"))
}

func TestAssignStickyScaleInMovesOnlyTheLeaversPartitions(t *testing.T) {
	topics := map[string][]int32{"in": partitionsUpTo(8)}
	sub := []string{"in"}
	members := map[string]Member{
		"a": {Topics: sub, Owned: []int32{0, 1, 2}, Generation: 7},
		"c": {Topics: sub, Owned: []int32{3, 7}, Generation: 7},
		// b left, with 4, 5, 6.
	}
	plan, err := AssignSticky(members, topics, false)
	require.NoError(t, err)
	a, c := numbersOf(t, plan, "a"), numbersOf(t, plan, "c")
	assert.Subset(t, a, []int32{0, 1, 2})
	assert.Subset(t, c, []int32{3, 7})
	assert.Len(t, a, 4)
	assert.Len(t, c, 4)
	assert.ElementsMatch(t, partitionsUpTo(8), append(a, c...))
}

func TestAssignStickyStaleClaimGoesToTheNewerGeneration(t *testing.T) {
	topics := map[string][]int32{"in": partitionsUpTo(4)}
	sub := []string{"in"}
	members := map[string]Member{
		// a lost partition 1 in generation 4 without noticing.
		"a": {Topics: sub, Owned: []int32{0, 1}, Generation: 4},
		"b": {Topics: sub, Owned: []int32{1, 2, 3}, Generation: 5},
	}
	plan, err := AssignSticky(members, topics, false)
	require.NoError(t, err)
	assert.Equal(t, []int32{0}, numbersOf(t, plan, "a"), "a gives up its stale 1, and 3 is withheld while b owns it")
	assert.Equal(t, []int32{1, 2}, numbersOf(t, plan, "b"), "b keeps 1 and its share")
}

func TestAssignStickyKeepsAssignsRules(t *testing.T) {
	_, err := AssignSticky(map[string]Member{"a": {Topics: []string{"x", "y"}}},
		map[string][]int32{"x": {0, 1}, "y": {0}}, false)
	require.ErrorIs(t, err, ErrNotCopartitioned)
	_, err = AssignSticky(map[string]Member{"a": {Topics: []string{"x"}}, "b": {Topics: []string{"x", "y"}}},
		map[string][]int32{"x": {0, 1}, "y": {0, 1}}, true)
	require.ErrorIs(t, err, ErrInconsistentTopics)

	// Lenient: a member gets its partitions in its own topics only.
	plan, err := AssignSticky(map[string]Member{"a": {Topics: []string{"x"}}, "b": {Topics: []string{"x", "y"}}},
		map[string][]int32{"x": {0, 1}, "y": {0, 1}}, false)
	require.NoError(t, err)
	assert.Equal(t, Plan{"a": {"x": {0}}, "b": {"x": {1}, "y": {1}}}, plan)
}

// TestAssignStickyConverges runs random joins and leaves through the
// cooperative protocol: a member gives up what its plan lacks, and rejoins
// until nobody gives up anything. At no step does a partition run on two
// members; once settled every partition runs, the shares differ by one at
// most, and a member that stayed lost only what its smaller share required.
func TestAssignStickyConverges(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const n = 12
	topics := map[string][]int32{"in": partitionsUpTo(n), "join": partitionsUpTo(n), "table": partitionsUpTo(n)}
	sub := []string{"in", "join", "table"}
	owned := map[string][]int32{}
	next := 0
	for step := 0; step < 200; step++ {
		before := map[string][]int32{}
		for id, ps := range owned {
			before[id] = slices.Clone(ps)
		}
		switch {
		case len(owned) == 0 || (len(owned) < 6 && rng.Intn(2) == 0):
			owned[fmt.Sprintf("m%02d", next)] = nil
			next++
		default:
			ids := make([]string, 0, len(owned))
			for id := range owned {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			delete(owned, ids[rng.Intn(len(ids))])
		}

		for round := 0; ; round++ {
			require.Less(t, round, 3, "step %d: no convergence", step)
			members := make(map[string]Member, len(owned))
			for id, ps := range owned {
				members[id] = Member{Topics: sub, Owned: ps, Generation: -1}
			}
			plan, err := AssignSticky(members, topics, true)
			require.NoError(t, err)
			revoked := false
			running := map[int32]string{}
			for id := range owned {
				got := numbersOf(t, plan, id)
				for _, p := range owned[id] {
					if !slices.Contains(got, p) {
						revoked = true
					}
				}
				// The member runs what it kept plus what it got: nothing
				// still held by another.
				for _, p := range got {
					other, taken := running[p]
					require.False(t, taken, "step %d: partition %d on %s and %s", step, p, other, id)
					running[p] = id
				}
				owned[id] = got
			}
			for id, ps := range owned {
				for _, p := range ps {
					if running[p] != id {
						t.Fatalf("step %d: %s owns %d it does not run", step, id, p)
					}
				}
			}
			if !revoked {
				break
			}
		}

		if len(owned) == 0 {
			continue
		}
		total := 0
		lo, hi := n, 0
		for id, ps := range owned {
			total += len(ps)
			lo, hi = min(lo, len(ps)), max(hi, len(ps))
			if prev, stayed := before[id]; stayed {
				kept := 0
				for _, p := range prev {
					if slices.Contains(ps, p) {
						kept++
					}
				}
				assert.Equal(t, min(len(prev), len(ps)), kept, "step %d: %s had %v, has %v", step, id, prev, ps)
			}
		}
		require.Equal(t, n, total, "step %d: %v", step, owned)
		require.LessOrEqual(t, hi-lo, 1, "step %d: unbalanced %v", step, owned)
	}
}
