package main

import (
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// blockerGraph keeps who is blocked, one row per blocked user. The filter
// joins this table.
func (a *app) blockerGraph() *goka.GroupGraph {
	return goka.DefineGroup(blockerGroup,
		goka.Input(blockStream, new(codec.JSON[BlockEvent]), a.block),
		goka.Persist(new(codec.JSON[Block])),
	)
}

func (a *app) block(ctx goka.Context, msg interface{}) {
	ev := msg.(BlockEvent)
	if ev.Unblock {
		// Delete writes a tombstone: the row goes from the table and,
		// once the topic is compacted, from Kafka.
		ctx.Delete()
		a.log.note(event{"blocker", "unblocked", ctx.Key()}, "unblocked %s", ctx.Key())
		return
	}
	ctx.SetValue(Block{Reason: ev.Reason, Since: ctx.Timestamp()})
	a.log.note(event{"blocker", "blocked", ctx.Key()}, "blocked %s: %s", ctx.Key(), ev.Reason)
}
