package main

import (
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	creditTable   = goka.GroupTable(creditGroup)
	balancesTable = goka.GroupTable(approverGroup)
)

func tea(id string, quantity int) Order {
	return Order{ID: id, Item: "tea", Quantity: quantity, UnitCents: 350}
}

// One tester and one processor serve every subtest; each subtest starts
// with ClearValues, so no table value of an earlier one leaks into it.
// SetTableValue seeds the tables directly: the credit limit the approver
// joins (its owner, the credit processor, need not run) and the approver's
// own balance.
func TestApprover(t *testing.T) {
	tt := tester.New(t)
	runProcessor(t, tt, approverGraph())

	t.Run("up to the limit", func(t *testing.T) {
		tt.ClearValues()
		tt.SetTableValue(creditTable, "alice", int64(7_00))
		approved := tt.NewQueueTracker(string(approvedOrdersStream))

		tt.Consume(string(checkedOrdersStream), "alice", tea("ord-1", 2))

		key, value, ok := approved.Next()
		require.True(t, ok)
		assert.Equal(t, "alice", key)
		// Without tester.WithTime a message's timestamp is the zero time.
		assert.Equal(t, Approval{OrderID: "ord-1", TotalCents: 7_00, At: time.Time{}}, value)
		assert.Equal(t, int64(7_00), tt.TableValue(balancesTable, "alice"))
	})

	t.Run("over the limit", func(t *testing.T) {
		tt.ClearValues()
		tt.SetTableValue(creditTable, "alice", int64(10_00))
		tt.SetTableValue(balancesTable, "alice", int64(8_00))
		approved := tt.NewQueueTracker(string(approvedOrdersStream))
		rejected := tt.NewQueueTracker(string(rejectedOrdersStream))

		tt.Consume(string(checkedOrdersStream), "alice", tea("ord-2", 2))

		_, value, ok := rejected.Next()
		require.True(t, ok)
		assert.Equal(t, Rejection{OrderID: "ord-2", Reason: "over credit limit: 800 + 700 > 1000 cents"}, value)
		_, _, ok = approved.Next()
		assert.False(t, ok)
		assert.Equal(t, int64(8_00), tt.TableValue(balancesTable, "alice"), "a rejected order is not charged")
	})

	t.Run("without a limit", func(t *testing.T) {
		// Without ClearValues, alice would still have the limit of the
		// subtests before.
		tt.ClearValues()
		rejected := tt.NewQueueTracker(string(rejectedOrdersStream))

		tt.Consume(string(checkedOrdersStream), "alice", tea("ord-3", 1))

		_, value, ok := rejected.Next()
		require.True(t, ok)
		assert.Equal(t, Rejection{OrderID: "ord-3", Reason: "no credit limit"}, value)
		assert.Empty(t, tt.GetTableKeys(balancesTable))
	})

	t.Run("the balance adds up", func(t *testing.T) {
		tt.ClearValues()
		tt.SetTableValue(creditTable, "alice", int64(20_00))
		approved := tt.NewQueueTracker(string(approvedOrdersStream))
		rejected := tt.NewQueueTracker(string(rejectedOrdersStream))

		for _, id := range []string{"ord-4", "ord-5", "ord-6"} {
			tt.Consume(string(checkedOrdersStream), "alice", tea(id, 2))
		}

		var approvedIDs []string
		for {
			_, value, ok := approved.Next()
			if !ok {
				break
			}
			approvedIDs = append(approvedIDs, value.(Approval).OrderID)
		}
		assert.Equal(t, []string{"ord-4", "ord-5"}, approvedIDs)
		_, value, ok := rejected.Next()
		require.True(t, ok)
		assert.Equal(t, "ord-6", value.(Rejection).OrderID)
		assert.Equal(t, int64(14_00), tt.TableValue(balancesTable, "alice"))
	})
}

// WithTime sets the timestamp a callback reads with ctx.Timestamp();
// WithHeaders sets the headers it reads with ctx.Headers().
func TestApprovalCarriesTimeAndTrace(t *testing.T) {
	tt := tester.New(t)
	runProcessor(t, tt, approverGraph())
	tt.SetTableValue(creditTable, "alice", int64(10_00))
	approved := tt.NewQueueTracker(string(approvedOrdersStream))

	orderedAt := time.Date(2026, time.March, 1, 9, 30, 0, 0, time.UTC)
	tt.Consume(string(checkedOrdersStream), "alice", tea("ord-1", 1),
		tester.WithTime(orderedAt),
		tester.WithHeaders(goka.Headers{traceHeader: []byte("trace-7")}))

	headers, key, value, ok := approved.NextWithHeaders()
	require.True(t, ok)
	assert.Equal(t, "alice", key)
	assert.Equal(t, Approval{OrderID: "ord-1", TotalCents: 3_50, At: orderedAt}, value)
	assert.Equal(t, goka.Headers{traceHeader: []byte("trace-7")}, headers)
}
