package goka

import (
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/internal/copartition"
)

func TestCopartitioningStrategyName(t *testing.T) {
	assert.Equal(t, "copartition", CopartitioningStrategy.Name())
	assert.Equal(t, "copartition", StrictCopartitioningStrategy.Name())

	data, err := CopartitioningStrategy.AssignmentData("m1", map[string][]int32{"a": {0}}, 1)
	require.NoError(t, err)
	assert.Nil(t, data)
}

func TestCopartitioningStrategyPlan(t *testing.T) {
	members := func(subs map[string][]string) map[string]sarama.ConsumerGroupMemberMetadata {
		m := make(map[string]sarama.ConsumerGroupMemberMetadata, len(subs))
		for id, topics := range subs {
			m[id] = sarama.ConsumerGroupMemberMetadata{Topics: topics}
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		strategy sarama.BalanceStrategy
		members  map[string][]string
		topics   map[string][]int32
		want     sarama.BalanceStrategyPlan
		wantErr  error
	}{
		{
			name:     "same ranges in every topic",
			strategy: CopartitioningStrategy,
			members:  map[string][]string{"m2": {"in", "table"}, "m1": {"in", "table"}, "m3": {"in", "table"}},
			topics:   map[string][]int32{"in": {0, 1, 2, 3, 4, 5}, "table": {5, 4, 3, 2, 1, 0}},
			want: sarama.BalanceStrategyPlan{
				"m1": {"in": {0, 1}, "table": {0, 1}},
				"m2": {"in": {2, 3}, "table": {2, 3}},
				"m3": {"in": {4, 5}, "table": {4, 5}},
			},
		},
		{
			name:     "rolling upgrade tolerated",
			strategy: CopartitioningStrategy,
			members:  map[string][]string{"a": {"x"}, "b": {"x", "y"}},
			topics:   map[string][]int32{"x": {0, 1, 2}, "y": {0, 1, 2}},
			want: sarama.BalanceStrategyPlan{
				"a": {"x": {0, 1}},
				"b": {"x": {2}, "y": {2}},
			},
		},
		{
			name:     "rolling upgrade refused by the strict strategy",
			strategy: StrictCopartitioningStrategy,
			members:  map[string][]string{"a": {"x"}, "b": {"x", "y"}},
			topics:   map[string][]int32{"x": {0, 1, 2}, "y": {0, 1, 2}},
			wantErr:  copartition.ErrInconsistentTopics,
		},
		{
			name:     "strict with equal subscriptions",
			strategy: StrictCopartitioningStrategy,
			members:  map[string][]string{"a": {"x", "y"}, "b": {"y", "x"}},
			topics:   map[string][]int32{"x": {0, 1}, "y": {0, 1}},
			want: sarama.BalanceStrategyPlan{
				"a": {"x": {0}, "y": {0}},
				"b": {"x": {1}, "y": {1}},
			},
		},
		{
			name:     "partition sets differ",
			strategy: CopartitioningStrategy,
			members:  map[string][]string{"a": {"x", "y"}},
			topics:   map[string][]int32{"x": {0, 1}, "y": {0, 1, 2}},
			wantErr:  copartition.ErrNotCopartitioned,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := tc.strategy.Plan(members(tc.members), tc.topics)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), "balance strategy copartition")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, plan)
		})
	}
}
