package goka

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/internal/copartition"
)

// partitionsOnly is a TopicManager that knows the partitions of a fixed set
// of topics and nothing else; it can describe partition sets no real broker
// produces, such as gaps.
type partitionsOnly struct {
	TopicManager
	topics map[string][]int32
	asked  []string
}

func (p *partitionsOnly) Partitions(topic string) ([]int32, error) {
	p.asked = append(p.asked, topic)
	partitions, ok := p.topics[topic]
	if !ok {
		return nil, fmt.Errorf("topic %q: %w", topic, ErrTopicNotFound)
	}
	return partitions, nil
}

func TestCheckCopartitioned(t *testing.T) {
	tm := &partitionsOnly{topics: map[string][]int32{
		"in-a":    {0, 1, 2},
		"in-b":    {2, 1, 0},
		"table":   {0, 1, 2},
		"small":   {0, 1},
		"gap":     {0, 1, 3},
		"shifted": {1, 2, 3},
	}}
	for _, tc := range []struct {
		name    string
		topics  []string
		want    int
		wantErr error
		msgs    []string
	}{
		{name: "one topic", topics: []string{"in-a"}, want: 3},
		{name: "equal sets", topics: []string{"in-a", "in-b", "table"}, want: 3},
		{name: "duplicates", topics: []string{"in-a", "in-a", "table"}, want: 3},
		{
			name:    "different counts",
			topics:  []string{"in-a", "small"},
			wantErr: copartition.ErrNotCopartitioned,
			msgs:    []string{"in-a=[0 1 2]", "small=[0 1]"},
		},
		{
			name:    "gap",
			topics:  []string{"in-a", "gap"},
			wantErr: copartition.ErrPartitionGap,
			msgs:    []string{"partition gap in gap", "in-a=[0 1 2]", "gap=[0 1 3]"},
		},
		{
			name:    "not starting at zero",
			topics:  []string{"shifted", "in-a"},
			wantErr: copartition.ErrPartitionGap,
			msgs:    []string{"shifted=[1 2 3]"},
		},
		{
			name:    "missing topics are all named",
			topics:  []string{"in-a", "nope", "neither"},
			wantErr: ErrTopicNotFound,
			msgs:    []string{`"nope"`, `"neither"`},
		},
		{name: "no topics", topics: nil, wantErr: copartition.ErrNoTopics},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := copartition.CheckTopics(tm, tc.topics)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				for _, msg := range tc.msgs {
					assert.Contains(t, err.Error(), msg)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCheckCopartitionedAsksOncePerTopic(t *testing.T) {
	tm := &partitionsOnly{topics: map[string][]int32{"a": {0}}}
	_, err := copartition.CheckTopics(tm, []string{"a", "a", "missing", "missing"})
	require.ErrorIs(t, err, ErrTopicNotFound)
	assert.Equal(t, []string{"a", "missing"}, tm.asked)
}

// TestCheckCopartitionedOnBroker runs the check through the real topic
// manager.
func TestCheckCopartitionedOnBroker(t *testing.T) {
	cluster := tmTestCluster(t)
	require.NoError(t, cluster.CreateTopic("four-a", 4, nil))
	require.NoError(t, cluster.CreateTopic("four-b", 4, nil))
	require.NoError(t, cluster.CreateTopic("two", 2, nil))
	tm := tmTestManager(t, cluster, tmTestConfig(nil))

	n, err := copartition.CheckTopics(tm, []string{"four-a", "four-b"})
	require.NoError(t, err)
	assert.Equal(t, 4, n)

	_, err = copartition.CheckTopics(tm, []string{"four-a", "two"})
	require.ErrorIs(t, err, copartition.ErrNotCopartitioned)
	assert.Contains(t, err.Error(), "four-a=[0 1 2 3], two=[0 1]")

	_, err = copartition.CheckTopics(tm, []string{"four-a", "absent"})
	require.ErrorIs(t, err, ErrTopicNotFound)
	assert.Contains(t, err.Error(), `"absent"`)
}
