package main

import (
	"testing"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every processor of the shop runs in one tester, fed by an emitter as the
// checkout would be. The emitter returns as soon as a message is appended;
// every read through the tester (TableValue, QueueTracker.Next, Catchup)
// waits until the whole cascade is done: validator → approver →
// customer-stats, three processors deep.
func TestPipeline(t *testing.T) {
	tt := tester.New(t)
	for _, gg := range graphs() {
		runProcessor(t, tt, gg)
	}
	checkout, err := goka.NewEmitter(nil, ordersStream, new(codec.JSON[Order]), goka.WithEmitterTester(tt))
	require.NoError(t, err)
	defer func() { assert.NoError(t, checkout.Finish()) }()
	approved := tt.NewQueueTracker(string(approvedOrdersStream))

	tt.Consume(string(creditLimitsStream), "alice", int64(10_00))
	for _, order := range []Order{
		tea("ord-1", 2), // approved: 700 of 1000 cents
		tea("ord-2", 0), // rejected by the validator
		tea("ord-3", 1), // rejected by the approver: 700 + 350 > 1000
		{ID: "4", Item: "tea", Quantity: 1, UnitCents: 350}, // rejected by the validator
	} {
		require.NoError(t, checkout.EmitSync("alice", order))
	}
	require.NoError(t, checkout.EmitSync("bob", tea("ord-5", 1))) // bob has no limit

	_, value, ok := approved.Next()
	require.True(t, ok)
	assert.Equal(t, "ord-1", value.(Approval).OrderID)
	_, _, ok = approved.Next()
	assert.False(t, ok, "only one order was approved")

	assert.Equal(t, Stats{Approved: 1, Rejected: 3, SpentCents: 7_00}, tt.TableValue(statsTable, "alice"))
	assert.Equal(t, Stats{Rejected: 1}, tt.TableValue(statsTable, "bob"))
	assert.Equal(t, int64(7_00), tt.TableValue(balancesTable, "alice"))
}
