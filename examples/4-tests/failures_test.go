package main

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"testing"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The callbacks below have the bugs callbacks typically have, or give up on
// purpose with Fail. Each is run on the same order by TestFailingCallbacks.

// Profile is what a profiles table would hold for a customer.
type Profile struct {
	Email string `json:"email"`
}

func priceFromList(ctx goka.Context, msg interface{}) {
	switch order := msg.(Order); order.Item {
	case "coffee":
	default:
		panic(fmt.Sprintf("no price list for %q", order.Item))
	}
}

// notifyCustomer hides with a comma-ok assertion that the joined table has
// no profile for the key.
func notifyCustomer(ctx goka.Context, msg interface{}) {
	profile, _ := ctx.Join("profiles-table").(*Profile)
	ctx.Emit(checkedOrdersStream, profile.Email, msg)
}

var errQuantityLimit = errors.New("quantity over the limit")

func limitQuantity(ctx goka.Context, msg interface{}) {
	if order := msg.(Order); order.Quantity > 1 {
		ctx.Fail(fmt.Errorf("order %s: %w", order.ID, errQuantityLimit))
	}
}

// rejectUnusuallyLarge forgets that a new customer has no average yet.
func rejectUnusuallyLarge(ctx goka.Context, msg interface{}) {
	order := msg.(Order)
	history, _ := ctx.Value().(Stats)
	average := history.SpentCents / int64(history.Approved)
	if order.TotalCents() > 10*average {
		ctx.Emit(rejectedOrdersStream, ctx.Key(), Rejection{OrderID: order.ID, Reason: "unusually large"})
	}
}

// checkID compiles its pattern in the callback, so a typo in it panics with
// the first message instead of when the program starts.
func checkID(ctx goka.Context, msg interface{}) {
	if order := msg.(Order); !regexp.MustCompile(`^ord-([0-9]+$`).MatchString(order.ID) {
		ctx.Emit(rejectedOrdersStream, ctx.Key(), Rejection{OrderID: order.ID, Reason: "malformed order id"})
	}
}

// countItems expects a pointer, but codec.JSON[Order] decodes to an Order.
func countItems(ctx goka.Context, msg interface{}) {
	stats, _ := ctx.Value().(Stats)
	stats.Approved += msg.(*Order).Quantity
	ctx.SetValue(stats)
}

// Whatever the bug, the processor stops: Run returns a *goka.MessageError
// naming the message, with the cause inside it, and the tester does not
// hang. Nothing after the message is committed, so a fixed processor would
// process it again.
func TestFailingCallbacks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		callback goka.ProcessCallback
		// check looks at what is specific to the failure.
		check func(t *testing.T, err error)
	}{{
		name:     "panic",
		callback: priceFromList,
		check: func(t *testing.T, err error) {
			assert.ErrorContains(t, err, `panic in callback: no price list for "tea"`)
		},
	}, {
		name:     "nil dereference",
		callback: notifyCustomer,
		check: func(t *testing.T, err error) {
			var re runtime.Error
			require.ErrorAs(t, err, &re, "a runtime panic stays reachable")
			assert.ErrorContains(t, re, "nil pointer dereference")
		},
	}, {
		name:     "Fail",
		callback: limitQuantity,
		check: func(t *testing.T, err error) {
			assert.ErrorIs(t, err, errQuantityLimit, "the error given to Fail stays reachable")
		},
	}, {
		name:     "division by zero",
		callback: rejectUnusuallyLarge,
		check: func(t *testing.T, err error) {
			var re runtime.Error
			require.ErrorAs(t, err, &re)
			assert.ErrorContains(t, re, "integer divide by zero")
		},
	}, {
		name:     "bad regex",
		callback: checkID,
		check: func(t *testing.T, err error) {
			assert.ErrorContains(t, err, "missing closing )")
		},
	}, {
		name:     "wrong type assertion",
		callback: countItems,
		check: func(t *testing.T, err error) {
			var re runtime.Error
			require.ErrorAs(t, err, &re)
			assert.ErrorContains(t, re, "interface {} is main.Order, not *main.Order")
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			errs := runProcessor(t, tt, goka.DefineGroup("buggy",
				goka.Input(ordersStream, new(codec.JSON[Order]), tc.callback),
				goka.Join("profiles-table", new(codec.JSON[*Profile])),
				goka.Output(checkedOrdersStream, new(codec.JSON[Order])),
				goka.Output(rejectedOrdersStream, new(codec.JSON[Rejection])),
				goka.Persist(new(codec.JSON[Stats])),
			))

			// Consume returns although the message was never committed: a
			// stopped processor has nothing left to catch up with.
			tt.Consume(string(ordersStream), "alice", tea("ord-1", 2))

			err := runError(t, errs)
			var me *goka.MessageError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, string(ordersStream), me.Topic)
			assert.Equal(t, "alice", me.Key)
			assert.Equal(t, int64(0), me.Offset)
			tc.check(t, err)
			if tc.name != "Fail" {
				assert.ErrorContains(t, err, "failures_test.go:", "a panic's error shows where the callback panicked")
			}
		})
	}
}
