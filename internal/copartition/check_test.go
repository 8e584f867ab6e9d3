package copartition

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		topics  map[string][]int32
		want    int
		wantErr error
		msg     string
	}{
		{name: "one topic", topics: map[string][]int32{"a": {0, 1, 2}}, want: 3},
		{name: "equal counts", topics: map[string][]int32{"a": {0, 1}, "b": {1, 0}, "c": {0, 1}}, want: 2},
		{name: "single partition", topics: map[string][]int32{"a": {0}, "b": {0}}, want: 1},
		{
			name:    "different counts",
			topics:  map[string][]int32{"a": {0, 1, 2}, "b": {0, 1}},
			wantErr: ErrNotCopartitioned,
			msg:     "a=[0 1 2], b=[0 1]",
		},
		{
			name:    "gap in the middle",
			topics:  map[string][]int32{"a": {0, 1, 2}, "b": {0, 2, 1, 4}},
			wantErr: ErrPartitionGap,
			msg:     "partition gap in b: a=[0 1 2], b=[0 1 2 4]",
		},
		{
			name:    "not starting at zero",
			topics:  map[string][]int32{"a": {1, 2}},
			wantErr: ErrPartitionGap,
			msg:     "in a: a=[1 2]",
		},
		{
			name:    "no partitions",
			topics:  map[string][]int32{"a": {0}, "b": nil},
			wantErr: ErrPartitionGap,
			msg:     "in b: a=[0], b=[]",
		},
		{
			name:    "every gap named",
			topics:  map[string][]int32{"c": {1}, "a": {0, 1}, "b": {0, 3}},
			wantErr: ErrPartitionGap,
			msg:     "in b, c:",
		},
		{name: "no topics", topics: map[string][]int32{}, wantErr: ErrNoTopics},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Check(tc.topics)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Contains(t, err.Error(), tc.msg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
