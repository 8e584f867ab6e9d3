package kafkatest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseGoroutine(t *testing.T) {
	for name, tc := range map[string]struct {
		block string
		want  goroutine
		ok    bool
	}{
		"main goroutine": {
			block: "goroutine 1 [running]:\nmain.main()\n\t/src/main.go:5 +0x1d",
			want:  goroutine{id: 1},
			ok:    true,
		},
		"created by a function": {
			block: "goroutine 42 [chan receive]:\ngithub.com/twmb/franz-go/pkg/kfake.(*Cluster).run(0xc0001)\n\t/x/cluster.go:440 +0x1\n" +
				"created by github.com/twmb/franz-go/pkg/kfake.NewCluster in goroutine 7\n\t/x/cluster.go:322 +0x2",
			want: goroutine{id: 42, creator: 7, createdBy: "github.com/twmb/franz-go/pkg/kfake.NewCluster"},
			ok:   true,
		},
		"traceback=system header": {
			block: "goroutine 9 gp=0xc000002380 m=0 mp=0x1 [IO wait]:\nnet.x()\n" +
				"created by github.com/twmb/franz-go/pkg/kfake.(*broker).listen in goroutine 8\n\t/x/cluster.go:435 +0x2",
			want: goroutine{id: 9, creator: 8, createdBy: "github.com/twmb/franz-go/pkg/kfake.(*broker).listen"},
			ok:   true,
		},
		"created by the runtime, no goroutine named": {
			block: "goroutine 3 [GC sweep wait]:\nruntime.gopark()\ncreated by runtime.gcenable\n\t/r/mgc.go:1 +0x1",
			want:  goroutine{id: 3, createdBy: "runtime.gcenable"},
			ok:    true,
		},
		"not a goroutine": {
			block: "something else",
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, ok := parseGoroutine([]byte(tc.block))
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestLineage(t *testing.T) {
	const caller = 7
	before := map[uint64]struct{}{1: {}, 7: {}, 20: {}}
	after := []goroutine{
		{id: 1},
		{id: 7, creator: 1, createdBy: "testing.tRunner"},
		{id: 20, creator: 7, createdBy: kfakePrefix + "NewCluster"}, // an earlier cluster's
		{id: 30, creator: 7, createdBy: kfakePrefix + "NewCluster"},
		{id: 31, creator: 7, createdBy: kfakePrefix + "NewCluster.func2"},
		{id: 32, creator: 8, createdBy: kfakePrefix + "NewCluster"}, // another caller's
		{id: 33, creator: 7, createdBy: "time.goFunc"},
	}
	roots := kfakeRoots(before, after, caller)
	assert.Equal(t, lineage{30: {}, 31: {}}, roots)

	// A grandchild listed before its parent is still found.
	running := []goroutine{
		{id: 41, creator: 40, createdBy: kfakePrefix + "(*clientConn).read"},
		{id: 40, creator: 31, createdBy: kfakePrefix + "(*broker).listen"},
		{id: 31},
		{id: 50, creator: 32},
	}
	assert.Equal(t, 3, roots.alive(running))
	assert.Equal(t, 1, roots.alive([]goroutine{{id: 41, creator: 40}}), "remembered once seen")
	assert.Equal(t, 0, roots.alive([]goroutine{{id: 50, creator: 32}}))
}
