package main

import (
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// feedLength is how many messages the collector keeps per user.
const feedLength = 10

// collectorGraph keeps the last messages each user received, as a list in
// its group table, which the service reads through a View to show feeds.
func (a *app) collectorGraph() *goka.GroupGraph {
	return goka.DefineGroup(collectorGroup,
		goka.Input(receivedStream, new(codec.JSON[Message]), a.collect),
		goka.Persist(new(codec.JSON[[]Message])),
	)
}

// collect appends a message to its receiver's feed; the message is keyed by
// the receiver, so ctx.Value is the receiver's feed.
func (a *app) collect(ctx goka.Context, msg interface{}) {
	m := msg.(Message)
	feed, _ := ctx.Value().([]Message)
	feed = append(feed, m)
	if len(feed) > feedLength {
		feed = feed[len(feed)-feedLength:]
	}
	ctx.SetValue(feed)
	a.log.note(event{"collector", "stored", ctx.Key()}, "%s's feed has %d messages, the newest from %s", ctx.Key(), len(feed), m.From)
}
