package main

import (
	"fmt"
	"regexp"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// graphs returns the shop's processors in the order messages flow through
// them.
func graphs() []*goka.GroupGraph {
	return []*goka.GroupGraph{validatorGraph(), creditGraph(), approverGraph(), customerStatsGraph()}
}

// validatorGraph checks that orders are well-formed before anything is
// charged: it needs no state, only an input and two outputs.
func validatorGraph() *goka.GroupGraph {
	return goka.DefineGroup(validatorGroup,
		goka.Input(ordersStream, new(codec.JSON[Order]), validate),
		goka.Output(checkedOrdersStream, new(codec.JSON[Order])),
		goka.Output(rejectedOrdersStream, new(codec.JSON[Rejection])),
	)
}

// orderID is compiled once, when the program starts: a bad pattern stops the
// program at once instead of failing the first message (see the failure
// tests).
var orderID = regexp.MustCompile(`^ord-[0-9]+$`)

func validate(ctx goka.Context, msg interface{}) {
	order := msg.(Order)
	if reason := problemWith(order); reason != "" {
		ctx.Emit(rejectedOrdersStream, ctx.Key(), Rejection{OrderID: order.ID, Reason: reason}, traced(ctx)...)
		return
	}
	ctx.Emit(checkedOrdersStream, ctx.Key(), order, traced(ctx)...)
}

// problemWith returns why an order cannot be accepted, or "" when it can. It
// is kept apart from the callback so the rules are tested as a table.
func problemWith(o Order) string {
	switch {
	case !orderID.MatchString(o.ID):
		return fmt.Sprintf("malformed order id %q", o.ID)
	case o.Quantity <= 0:
		return "quantity must be positive"
	case o.UnitCents <= 0:
		return "price must be positive"
	}
	return ""
}

// traced returns the option that passes the message's trace ID on to what
// the callback emits, when the message has one.
func traced(ctx goka.Context) []goka.ContextOption {
	id, ok := ctx.Headers()[traceHeader]
	if !ok {
		return nil
	}
	return []goka.ContextOption{goka.WithCtxEmitHeaders(goka.Headers{traceHeader: id})}
}

// creditGraph keeps every customer's credit limit, in cents, in the table
// "credit-table", for the approver to join.
func creditGraph() *goka.GroupGraph {
	return goka.DefineGroup(creditGroup,
		goka.Input(creditLimitsStream, new(codec.Int64), setLimit),
		goka.Persist(new(codec.Int64)),
	)
}

func setLimit(ctx goka.Context, msg interface{}) { ctx.SetValue(msg) }

// approverGraph approves a checked order when the customer's open balance,
// kept in its own table, stays within the credit limit it joins.
func approverGraph() *goka.GroupGraph {
	return goka.DefineGroup(approverGroup,
		goka.Input(checkedOrdersStream, new(codec.JSON[Order]), approve),
		goka.Join(goka.GroupTable(creditGroup), new(codec.Int64)),
		goka.Output(approvedOrdersStream, new(codec.JSON[Approval])),
		goka.Output(rejectedOrdersStream, new(codec.JSON[Rejection])),
		goka.Persist(new(codec.Int64)),
	)
}

func approve(ctx goka.Context, msg interface{}) {
	order := msg.(Order)
	limit, ok := ctx.Join(goka.GroupTable(creditGroup)).(int64)
	if !ok {
		ctx.Emit(rejectedOrdersStream, ctx.Key(), Rejection{OrderID: order.ID, Reason: "no credit limit"}, traced(ctx)...)
		return
	}
	balance, _ := ctx.Value().(int64)
	if total := order.TotalCents(); balance+total > limit {
		reason := fmt.Sprintf("over credit limit: %d + %d > %d cents", balance, total, limit)
		ctx.Emit(rejectedOrdersStream, ctx.Key(), Rejection{OrderID: order.ID, Reason: reason}, traced(ctx)...)
		return
	}
	ctx.SetValue(balance + order.TotalCents())
	approval := Approval{OrderID: order.ID, TotalCents: order.TotalCents(), At: ctx.Timestamp()}
	ctx.Emit(approvedOrdersStream, ctx.Key(), approval, traced(ctx)...)
}

// customerStatsGraph counts the approved and rejected orders of every
// customer: one table fed by two inputs with different codecs.
func customerStatsGraph() *goka.GroupGraph {
	return goka.DefineGroup(customerStatsGroup,
		goka.Input(approvedOrdersStream, new(codec.JSON[Approval]), countApproval),
		goka.Input(rejectedOrdersStream, new(codec.JSON[Rejection]), countRejection),
		goka.Persist(new(codec.JSON[Stats])),
	)
}

func countApproval(ctx goka.Context, msg interface{}) {
	stats, _ := ctx.Value().(Stats)
	stats.Approved++
	stats.SpentCents += msg.(Approval).TotalCents
	ctx.SetValue(stats)
}

func countRejection(ctx goka.Context, msg interface{}) {
	stats, _ := ctx.Value().(Stats)
	stats.Rejected++
	ctx.SetValue(stats)
}
