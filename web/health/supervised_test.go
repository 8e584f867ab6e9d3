package health

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// healer stands for a supervisor that restarts a failed processor: its Done
// stays open while it heals, and its stats are those of the processor it
// runs at the time.
type healer struct {
	graph     *goka.GroupGraph
	done      chan struct{}
	err       error
	recovered bool
	stats     *goka.ProcessorStats
}

func (h *healer) Graph() *goka.GroupGraph                               { return h.graph }
func (h *healer) Done() <-chan struct{}                                 { return h.done }
func (h *healer) Error() error                                          { return h.err }
func (h *healer) Recovered() bool                                       { return h.recovered }
func (h *healer) StatsWithContext(context.Context) *goka.ProcessorStats { return h.stats }

func newHealer() *healer {
	return &healer{
		graph: goka.DefineGroup("orders",
			goka.Input("orders", new(codec.String), func(goka.Context, interface{}) {}),
			goka.Join("customers", new(codec.String)),
			goka.Lookup("prices", new(codec.String)),
			goka.Persist(new(codec.String)),
		),
		done:  make(chan struct{}),
		stats: &goka.ProcessorStats{Group: map[int32]*goka.PartitionProcStats{}, Lookup: map[string]*goka.ViewStats{}},
	}
}

func runningTable(lag int64) *goka.TableStats {
	return &goka.TableStats{Status: goka.PartitionRunning, Input: &goka.InputStats{OffsetLag: lag}}
}

// A supervisor plugs in as a Processor: live while it heals, ready when the
// processor it runs is; every kind of table and input of that processor is
// checked, hot standby partitions are not.
func TestSupervisedProcessor(t *testing.T) {
	h := newHealer()
	check := ProcessorCheck(h, WithMaxLag(10))
	ctx := context.Background()

	// Healing: the processor it ran failed, the next one is starting.
	assert.NoError(t, check.Live(ctx), "healing is live")
	err := check.Ready(ctx)
	require.ErrorIs(t, err, ErrNotRecovered)
	assert.EqualError(t, err, "health: not recovered: not running yet")

	h.recovered = true
	h.stats.Group[0] = &goka.PartitionProcStats{
		TableStats: runningTable(0),
		Joined:     map[string]*goka.TableStats{"customers": runningTable(0)},
		Input:      map[string]*goka.InputStats{"orders": {OffsetLag: 10, Delay: time.Hour}},
	}
	h.stats.Group[1] = &goka.PartitionProcStats{
		TableStats: &goka.TableStats{Status: goka.PartitionRecovering, RunMode: 1, Input: &goka.InputStats{OffsetLag: 1 << 20}},
	}
	h.stats.Lookup["prices"] = &goka.ViewStats{Partitions: map[int32]*goka.TableStats{0: runningTable(3), 1: runningTable(0)}}
	require.NoError(t, check.Ready(ctx), "at the limit, a hot standby restoring")

	h.stats.Group[0].Input["orders"].OffsetLag = 11
	h.stats.Group[0].Joined["customers"] = runningTable(12)
	h.stats.Group[0].TableStats = &goka.TableStats{Status: goka.PartitionPreparing}
	h.stats.Lookup["prices"].Partitions[1] = &goka.TableStats{Status: goka.PartitionConnecting}
	err = check.Ready(ctx)
	require.ErrorIs(t, err, ErrLagging)
	require.ErrorIs(t, err, ErrNotRecovered)
	assert.EqualError(t, err, "health: not recovered: partition 0: table orders-table is preparing\n"+
		"partition 0: joined table customers lags 12 messages (limit 10)\n"+
		"partition 0: input orders lags 11 messages (limit 10)\n"+
		"health: not recovered: partition 1: lookup table prices is connecting")
	var lag *LagError
	require.ErrorAs(t, err, &lag)
	assert.Equal(t, LagError{Kind: "joined table", Topic: "customers", Partition: 0, Lag: 12, MaxLag: 10}, *lag)

	// It gave up: a permanent error.
	h.err = errors.New("fenced")
	close(h.done)
	assert.EqualError(t, check.Live(ctx), "health: stopped: Run returned: fenced")
	assert.EqualError(t, check.Ready(ctx), "health: stopped: Run returned: fenced")
}
