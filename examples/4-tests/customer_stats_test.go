package main

import (
	"testing"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/stretchr/testify/assert"
)

var statsTable = goka.GroupTable(customerStatsGroup)

// Two inputs with different codecs update one persisted value per key.
func TestCustomerStatsCountsBothOutcomes(t *testing.T) {
	tt := tester.New(t)
	runProcessor(t, tt, customerStatsGraph())

	tt.Consume(string(approvedOrdersStream), "alice", Approval{OrderID: "ord-1", TotalCents: 7_00})
	tt.Consume(string(rejectedOrdersStream), "alice", Rejection{OrderID: "ord-2", Reason: "no credit limit"})
	tt.Consume(string(approvedOrdersStream), "alice", Approval{OrderID: "ord-3", TotalCents: 3_50})
	tt.Consume(string(rejectedOrdersStream), "bob", Rejection{OrderID: "ord-4", Reason: "no credit limit"})

	assert.Equal(t, Stats{Approved: 2, Rejected: 1, SpentCents: 10_50}, tt.TableValue(statsTable, "alice"))
	assert.Equal(t, Stats{Rejected: 1}, tt.TableValue(statsTable, "bob"))
}

// SetTableValue gives a key a history without replaying it.
func TestCustomerStatsContinueFromSeededState(t *testing.T) {
	tt := tester.New(t)
	runProcessor(t, tt, customerStatsGraph())
	tt.SetTableValue(statsTable, "alice", Stats{Approved: 41, SpentCents: 1_000_00})

	tt.Consume(string(approvedOrdersStream), "alice", Approval{OrderID: "ord-42", TotalCents: 5_00})

	assert.Equal(t, Stats{Approved: 42, SpentCents: 1_005_00}, tt.TableValue(statsTable, "alice"))
}
