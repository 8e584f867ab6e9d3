package main

import (
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// translatorGraph keeps the replacement of each word, keyed by the word. The
// filter looks words up in this table.
func (a *app) translatorGraph() *goka.GroupGraph {
	return goka.DefineGroup(translatorGroup,
		goka.Input(translateStream, new(codec.String), a.learn),
		goka.Persist(new(codec.String)),
	)
}

func (a *app) learn(ctx goka.Context, msg interface{}) {
	replacement := msg.(string)
	if replacement == "" {
		ctx.Delete()
		a.log.note(event{"translator", "forgot", ctx.Key()}, "%q is no longer replaced", ctx.Key())
		return
	}
	ctx.SetValue(replacement)
	a.log.note(event{"translator", "learned", ctx.Key()}, "%q is replaced by %q from now on", ctx.Key(), replacement)
}
