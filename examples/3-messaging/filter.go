package main

import (
	"strings"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

var (
	blockerTable    = goka.GroupTable(blockerGroup)
	translatorTable = goka.GroupTable(translatorGroup)
)

// filterGraph passes every sent message on to its receiver, unless its
// sender is blocked, replacing the words the translator knows.
//
// Join and Lookup both read another group's table, differently. A join reads
// only the partition of the message's key, kept by this processor next to the
// message's own partition: it answers for the sender, and only for the
// sender. A lookup keeps a copy of the whole table and answers for any key:
// the words of a message are spread over every partition of the
// translations.
func (a *app) filterGraph() *goka.GroupGraph {
	return goka.DefineGroup(filterGroup,
		goka.Input(sentStream, new(codec.JSON[Message]), a.filter),
		goka.Join(blockerTable, new(codec.JSON[Block])),
		goka.Lookup(translatorTable, new(codec.String)),
		goka.Output(receivedStream, new(codec.JSON[Message])),
	)
}

func (a *app) filter(ctx goka.Context, msg interface{}) {
	m := msg.(Message)
	// The message is keyed by its sender, so the join gives the sender's
	// row of the blocker's table.
	if b, ok := ctx.Join(blockerTable).(Block); ok {
		a.log.note(event{"filter", "dropped", m.From}, "dropped %s → %s %q: %s is blocked (%s)", m.From, m.To, m.Content, m.From, b.Reason)
		return
	}
	m.Content = replaceWords(ctx, m.Content)
	// Re-keyed by the receiver: the collector keeps the receiver's feed.
	ctx.Emit(receivedStream, m.To, m)
	a.log.note(event{"filter", "passed", m.From}, "passed %s → %s %q", m.From, m.To, m.Content)
}

// replaceWords replaces every word of text that the translator's table has.
func replaceWords(ctx goka.Context, text string) string {
	words := strings.Fields(text)
	for i, w := range words {
		if replacement, ok := ctx.Lookup(translatorTable, strings.ToLower(w)).(string); ok {
			words[i] = replacement
		}
	}
	return strings.Join(words, " ")
}
