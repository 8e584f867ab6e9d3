package main

import (
	"testing"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rules are a pure function: a table test needs no tester at all.
func TestProblemWith(t *testing.T) {
	for _, tc := range []struct {
		order Order
		want  string
	}{
		{Order{ID: "ord-1", Item: "tea", Quantity: 2, UnitCents: 350}, ""},
		{Order{ID: "1", Item: "tea", Quantity: 2, UnitCents: 350}, `malformed order id "1"`},
		{Order{ID: "ord-1x", Item: "tea", Quantity: 2, UnitCents: 350}, `malformed order id "ord-1x"`},
		{Order{ID: "ord-1", Item: "tea", Quantity: 0, UnitCents: 350}, "quantity must be positive"},
		{Order{ID: "ord-1", Item: "tea", Quantity: -1, UnitCents: 350}, "quantity must be positive"},
		{Order{ID: "ord-1", Item: "tea", Quantity: 2, UnitCents: 0}, "price must be positive"},
	} {
		assert.Equal(t, tc.want, problemWith(tc.order), "%+v", tc.order)
	}
}

// Input to output: a QueueTracker sees what the callback emitted.
func TestValidatorRoutesOrders(t *testing.T) {
	tt := tester.New(t)
	runProcessor(t, tt, validatorGraph())
	// A tracker starts at the end of its topic: it sees only what is
	// produced after it was created.
	checked := tt.NewQueueTracker(string(checkedOrdersStream))
	rejected := tt.NewQueueTracker(string(rejectedOrdersStream))

	good := Order{ID: "ord-1", Item: "tea", Quantity: 2, UnitCents: 350}
	tt.Consume(string(ordersStream), "alice", good)

	key, value, ok := checked.Next()
	require.True(t, ok, "a well-formed order is passed on")
	assert.Equal(t, "alice", key)
	assert.Equal(t, good, value)
	_, _, ok = rejected.Next()
	assert.False(t, ok, "and not rejected")

	tt.Consume(string(ordersStream), "bob", Order{ID: "ord-2", Item: "tea", Quantity: 0, UnitCents: 350})

	key, value, ok = rejected.Next()
	require.True(t, ok)
	assert.Equal(t, "bob", key)
	assert.Equal(t, Rejection{OrderID: "ord-2", Reason: "quantity must be positive"}, value)
	_, _, ok = checked.Next()
	assert.False(t, ok)
}

// Headers of a message are not forwarded by the library; the validator passes
// the trace ID on itself, and the test checks it with NextWithHeaders.
func TestValidatorPassesTheTraceOn(t *testing.T) {
	tt := tester.New(t)
	runProcessor(t, tt, validatorGraph())
	checked := tt.NewQueueTracker(string(checkedOrdersStream))

	order := Order{ID: "ord-1", Item: "tea", Quantity: 1, UnitCents: 350}
	tt.Consume(string(ordersStream), "alice", order,
		tester.WithHeaders(goka.Headers{traceHeader: []byte("trace-42"), "session": []byte("s-1")}))
	tt.Consume(string(ordersStream), "alice", order)

	headers, _, _, ok := checked.NextWithHeaders()
	require.True(t, ok)
	assert.Equal(t, goka.Headers{traceHeader: []byte("trace-42")}, headers, "only the trace ID is passed on")

	headers, _, _, ok = checked.NextWithHeaders()
	require.True(t, ok)
	assert.Empty(t, headers, "no trace, no header")
}
