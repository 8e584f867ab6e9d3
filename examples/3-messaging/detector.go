package main

import (
	"fmt"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// A user who sent at least spamMinSent messages and more than spamRatio
// times as many as they received is reported as a spammer.
const (
	spamMinSent = 5
	spamRatio   = 3
)

// detectorGraph counts the messages each user sent and received, and asks
// the blocker to block a user who sends many more than they receive.
//
// A sent message is keyed by its sender, so its callback can only change the
// sender's counters. The receiver's counters live in the receiver's row,
// perhaps in another partition: the callback sends the message to the loop
// (Loopback), re-keyed by the receiver, and the Loop callback counts it in
// the receiver's row. A processor changes only the rows of the keys it
// consumes, which is what makes it safe without locks.
func (a *app) detectorGraph() *goka.GroupGraph {
	return goka.DefineGroup(detectorGroup,
		goka.Input(sentStream, new(codec.JSON[Message]), a.countSent),
		goka.Loop(new(codec.JSON[Message]), a.countReceived),
		goka.Output(blockStream, new(codec.JSON[BlockEvent])),
		goka.Persist(new(codec.JSON[Counters])),
	)
}

func (a *app) countSent(ctx goka.Context, msg interface{}) {
	m := msg.(Message)
	c, _ := ctx.Value().(Counters)
	c.Sent++
	ctx.Loopback(m.To, m)
	if !c.Flagged && c.Sent >= spamMinSent && c.Sent > spamRatio*c.Received {
		c.Flagged = true
		reason := fmt.Sprintf("spam: sent %d messages, received %d", c.Sent, c.Received)
		ctx.Emit(blockStream, ctx.Key(), BlockEvent{Reason: reason})
		a.log.note(event{"detector", "spammer", ctx.Key()}, "%s looks like a spammer (%s): asking the blocker to block", ctx.Key(), reason)
	}
	ctx.SetValue(c)
}

func (a *app) countReceived(ctx goka.Context, msg interface{}) {
	c, _ := ctx.Value().(Counters)
	c.Received++
	ctx.SetValue(c)
}
