package copartition

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAssign(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members map[string][]string
		topics  map[string][]int32
		strict  bool
		want    Plan
		wantErr error
		msg     string // a substring the error must contain
	}{
		{
			name:    "no members",
			members: map[string][]string{},
			topics:  map[string][]int32{"a": {0, 1}},
			want:    Plan{},
		},
		{
			name:    "one member takes everything",
			members: map[string][]string{"m1": {"a"}},
			topics:  map[string][]int32{"a": {0, 1, 2, 3}},
			want:    Plan{"m1": {"a": {0, 1, 2, 3}}},
		},
		{
			name:    "even split over two topics",
			members: map[string][]string{"m1": {"a", "b"}, "m2": {"a", "b"}},
			topics:  map[string][]int32{"a": {0, 1, 2, 3}, "b": {0, 1, 2, 3}},
			want: Plan{
				"m1": {"a": {0, 1}, "b": {0, 1}},
				"m2": {"a": {2, 3}, "b": {2, 3}},
			},
		},
		{
			name:    "uneven split rounds to nearest",
			members: map[string][]string{"m1": {"a"}, "m2": {"a"}, "m3": {"a"}},
			topics:  map[string][]int32{"a": {0, 1, 2, 3, 4, 5, 6, 7}},
			want: Plan{
				"m1": {"a": {0, 1, 2}},
				"m2": {"a": {3, 4}},
				"m3": {"a": {5, 6, 7}},
			},
		},
		{
			name:    "more members than partitions leaves some idle",
			members: map[string][]string{"m1": {"a"}, "m2": {"a"}, "m3": {"a"}, "m4": {"a"}},
			topics:  map[string][]int32{"a": {0, 1}},
			want: Plan{
				"m1": {"a": {0}},
				"m3": {"a": {1}},
			},
		},
		{
			name:    "members sorted by ID, partitions sorted",
			members: map[string][]string{"zeta": {"b", "a"}, "alpha": {"a", "b"}},
			topics:  map[string][]int32{"a": {3, 1, 0, 2}, "b": {2, 0, 3, 1}},
			want: Plan{
				"alpha": {"a": {0, 1}, "b": {0, 1}},
				"zeta":  {"a": {2, 3}, "b": {2, 3}},
			},
		},
		{
			name:    "partition sets with holes are planned when equal",
			members: map[string][]string{"m1": {"a", "b"}, "m2": {"a", "b"}},
			topics:  map[string][]int32{"a": {0, 2, 4, 6}, "b": {6, 4, 2, 0}},
			want: Plan{
				"m1": {"a": {0, 2}, "b": {0, 2}},
				"m2": {"a": {4, 6}, "b": {4, 6}},
			},
		},
		{
			name:    "different topic sets tolerated: same ranges, own topics only",
			members: map[string][]string{"old": {"a"}, "new": {"a", "b"}},
			topics:  map[string][]int32{"a": {0, 1, 2}, "b": {0, 1, 2}},
			want: Plan{
				"new": {"a": {0, 1}, "b": {0, 1}},
				"old": {"a": {2}},
			},
		},
		{
			name:    "different topic sets refused when strict",
			members: map[string][]string{"old": {"a"}, "new": {"a", "b"}},
			topics:  map[string][]int32{"a": {0, 1, 2}, "b": {0, 1, 2}},
			strict:  true,
			wantErr: ErrInconsistentTopics,
			msg:     "new=[a b], old=[a]",
		},
		{
			name:    "strict ignores order and duplicates of subscriptions",
			members: map[string][]string{"m1": {"b", "a", "a"}, "m2": {"a", "b"}},
			topics:  map[string][]int32{"a": {0, 1}, "b": {0, 1}},
			strict:  true,
			want: Plan{
				"m1": {"a": {0}, "b": {0}},
				"m2": {"a": {1}, "b": {1}},
			},
		},
		{
			name:    "different partition counts",
			members: map[string][]string{"m1": {"a", "b"}},
			topics:  map[string][]int32{"a": {0, 1, 2}, "b": {0, 1}},
			wantErr: ErrNotCopartitioned,
			msg:     "a=[0 1 2], b=[0 1]",
		},
		{
			name:    "same count, different partitions",
			members: map[string][]string{"m1": {"a", "b"}},
			topics:  map[string][]int32{"a": {0, 1}, "b": {1, 2}},
			wantErr: ErrNotCopartitioned,
			msg:     "a=[0 1], b=[1 2]",
		},
		{
			name:    "subscribed topic without metadata",
			members: map[string][]string{"m1": {"a", "c"}},
			topics:  map[string][]int32{"a": {0, 1}},
			wantErr: ErrUnknownTopic,
			msg:     `member "m1" subscribes to "c"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Assign(tc.members, tc.topics, tc.strict)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), tc.msg)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestAssignLeavesInputsAlone guards against sorting the caller's slices in
// place: sarama hands the strategy its own metadata.
func TestAssignLeavesInputsAlone(t *testing.T) {
	members := map[string][]string{"m1": {"b", "a"}}
	topics := map[string][]int32{"a": {1, 0}, "b": {0, 1}}
	plan, err := Assign(members, topics, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "a"}, members["m1"])
	assert.Equal(t, []int32{1, 0}, topics["a"])

	// The topics of one member must not share a backing array either.
	plan["m1"]["a"][0] = 99
	assert.Equal(t, []int32{0, 1}, plan["m1"]["b"])
}

// TestRange checks the integer formula against the documented floating point
// one and checks that the ranges tile 0..n without gaps or overlaps, as even
// as the counts allow.
func TestRange(t *testing.T) {
	for m := 1; m <= 24; m++ {
		for n := 0; n <= 64; n++ {
			next := 0
			for i := range m {
				lo, hi := Range(i, m, n)
				require.Equal(t, int(math.Floor(float64(i*n)/float64(m)+0.5)), lo, "m=%d n=%d i=%d", m, n, i)
				require.Equal(t, next, lo, "m=%d n=%d i=%d: gap or overlap", m, n, i)
				require.LessOrEqual(t, lo, hi)
				size := hi - lo
				require.True(t, size == n/m || size == (n+m-1)/m, "m=%d n=%d i=%d: size %d", m, n, i, size)
				next = hi
			}
			require.Equal(t, n, next, "m=%d n=%d: not every partition assigned", m, n)
		}
	}
}
