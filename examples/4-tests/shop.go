package main

import (
	"time"

	"github.com/seed-b2c684ed/goka"
)

// The streams of the shop. Every message is keyed by customer ID, so a
// customer's orders, their credit limit and their statistics live in the same
// partition of every topic.
const (
	ordersStream         goka.Stream = "orders"          // Order, from the checkout
	checkedOrdersStream  goka.Stream = "checked-orders"  // Order, well-formed
	rejectedOrdersStream goka.Stream = "rejected-orders" // Rejection
	approvedOrdersStream goka.Stream = "approved-orders" // Approval
	creditLimitsStream   goka.Stream = "credit-limits"   // int64 cents, from back office
)

// The groups of the shop; each owns the table named after it.
const (
	validatorGroup     goka.Group = "validator"
	creditGroup        goka.Group = "credit"
	approverGroup      goka.Group = "approver"
	customerStatsGroup goka.Group = "customer-stats"
)

// traceHeader is carried from message to message by the callbacks, because
// the library never forwards a message's headers to what its callback emits.
const traceHeader = "trace-id"

// Order is what the checkout sends for a customer.
type Order struct {
	ID        string `json:"id"`
	Item      string `json:"item"`
	Quantity  int    `json:"quantity"`
	UnitCents int64  `json:"unit_cents"`
}

// TotalCents is what the order costs.
func (o Order) TotalCents() int64 { return int64(o.Quantity) * o.UnitCents }

// Rejection tells a customer's downstream services why an order was refused.
type Rejection struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// Approval is an order the customer's credit covers. At is the time of the
// order message, not of the approval, so replaying the stream after a crash
// produces the same approvals.
type Approval struct {
	OrderID    string    `json:"order_id"`
	TotalCents int64     `json:"total_cents"`
	At         time.Time `json:"at"`
}

// Stats is what the shop knows of a customer's orders.
type Stats struct {
	Approved   int   `json:"approved"`
	Rejected   int   `json:"rejected"`
	SpentCents int64 `json:"spent_cents"`
}
