package systemtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// TestIdleInstanceIsReady runs two instances on a one-partition input: the
// group assigns the partition to one of them, and the other, idle, must
// still report the truth: Running, recovered, and WaitForReady returns.
// With hot standby or recover-ahead it is so once its warm table is caught
// up, which its store shows.
func TestIdleInstanceIsReady(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []goka.ProcessorOption
		warm bool
	}{
		{"plain", nil, false},
		{"hot standby", []goka.ProcessorOption{goka.WithHotStandby()}, true},
		{"recover ahead", []goka.ProcessorOption{goka.WithRecoverAhead()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			const keys = 5
			c := newCluster(t)
			group := systemtest.UniqueName(t, "group")
			input := systemtest.UniqueName(t, "input")
			table := string(tableOf(group))
			c.createStream(input, 1)
			c.deleteLater(table)
			graph := func() *goka.GroupGraph {
				return systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil)
			}
			emitInt64s(t, c, input, keys, 1)
			kept := []*keptStores{newKeptStores(), newKeptStores()}
			first := startPeer(t, c, "first", graph(), kept[0].builder(), tc.opts...)
			c.waitConsumed(group, input, 1, first.run)
			second := startPeer(t, c, "second", graph(), kept[1].builder(), tc.opts...)

			var idle *peer
			var idleStores *keptStores
			waitFor(t, rebalanceDeadline, "one instance to hold the partition", func() (bool, string) {
				a, b := first.sessions.last(), second.sessions.last()
				switch {
				case len(a) == 1 && b != nil && len(b) == 0:
					idle, idleStores = second, kept[1]
				case len(b) == 1 && a != nil && len(a) == 0:
					idle, idleStores = first, kept[0]
				default:
					return false, fmt.Sprintf("first %v, second %v", a, b)
				}
				return true, ""
			})
			ctx, cancel := context.WithTimeout(context.Background(), rebalanceDeadline)
			defer cancel()
			require.NoError(t, idle.proc.WaitForReadyContext(ctx))
			waitFor(t, rebalanceDeadline, idle.name+" to be recovered", func() (bool, string) {
				return idle.proc.Recovered(), fmt.Sprintf("state %v", idle.proc.StateReader().State())
			})
			assert.Equal(t, goka.ProcStateRunning, idle.proc.StateReader().State())
			if tc.warm {
				for k := range keys {
					assert.Equal(t, int64(1), idleStores.getInt64(table, 0, keyName(k)), "%s in the idle instance's warm store", keyName(k))
				}
			}
			second.stop(t)
			first.stop(t)
			t.Logf("summary: the idle instance (%s) was ready; whole test %s", idle.name, time.Since(start).Round(time.Millisecond))
		})
	}
}
