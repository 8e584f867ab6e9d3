package main

import (
	"context"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// The pipeline: users click on pages. Four processors in one program, each of
// a different kind, so that the monitor has something to show for each.
const (
	// clicks is keyed by user; the value is the page clicked.
	clicks goka.Stream = "example-monitoring-clicks"
	// visits is the same clicks keyed by page; the value is the user.
	visits goka.Stream = "example-monitoring-visits"

	// counterGroup counts the clicks of every user.
	counterGroup goka.Group = "example-monitoring-counter"
	// mainGroup keeps a profile per user, joining the counter's table.
	mainGroup goka.Group = "example-monitoring-main"
	// routerGroup re-keys clicks by page; it has no table.
	routerGroup goka.Group = "example-monitoring-router"
	// pagesGroup keeps statistics per page, looking users up in the
	// counter's table.
	pagesGroup goka.Group = "example-monitoring-pages"
)

// counterTable is the table the other processors read.
var counterTable = goka.GroupTable(counterGroup)

// Profile is the main processor's value per user.
type Profile struct {
	LastPage string `json:"lastPage"`
	// Clicks is the user's count in the counter's table when the click was
	// processed: the joined table is read as it is, so it may be a little
	// behind or ahead of this processor.
	Clicks int64  `json:"clicks"`
	Level  string `json:"level"`
}

// PageStats is the pages processor's value per page.
type PageStats struct {
	Visits        int64  `json:"visits"`
	TopUser       string `json:"topUser"`
	TopUserClicks int64  `json:"topUserClicks"`
}

// counterGraph counts clicks, spending slow on each one first (see -slow).
func counterGraph(slow time.Duration) *goka.GroupGraph {
	return goka.DefineGroup(counterGroup,
		goka.Input(clicks, new(codec.String), func(ctx goka.Context, _ interface{}) {
			work(ctx.Context(), slow)
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
}

// work stands in for what a real callback might spend its time on, a remote
// call or a heavy computation, so that the clicks arrive faster than they are
// counted. It ends early when the processor stops: a slow run still shuts
// down at once instead of after the click in hand.
func work(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// mainGraph joins the counter's table: both are keyed by user and read the
// same stream, so partition p of the table holds exactly the users of
// partition p of the input, and the join reads it locally.
func mainGraph() *goka.GroupGraph {
	return goka.DefineGroup(mainGroup,
		goka.Input(clicks, new(codec.String), func(ctx goka.Context, msg interface{}) {
			var clicks int64
			if v := ctx.Join(counterTable); v != nil {
				clicks = v.(int64)
			}
			ctx.SetValue(Profile{LastPage: msg.(string), Clicks: clicks, Level: level(clicks)})
		}),
		goka.Join(counterTable, new(codec.Int64)),
		goka.Persist(new(codec.JSON[Profile])),
	)
}

func level(clicks int64) string {
	switch {
	case clicks >= 500:
		return "fan"
	case clicks >= 50:
		return "regular"
	default:
		return "new"
	}
}

// routerGraph is stateless: it only forwards every click to the visits
// stream, keyed by page, so that a processor can group by page.
func routerGraph() *goka.GroupGraph {
	return goka.DefineGroup(routerGroup,
		goka.Input(clicks, new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.Emit(visits, msg.(string), ctx.Key())
		}),
		goka.Output(visits, new(codec.String)),
	)
}

// pagesGraph looks users up in the counter's table. Its input is keyed by
// page, so a user's count may be in any partition of that table: a Lookup
// keeps all of them, where a Join would have only its own partition's.
func pagesGraph() *goka.GroupGraph {
	return goka.DefineGroup(pagesGroup,
		goka.Input(visits, new(codec.String), func(ctx goka.Context, msg interface{}) {
			var s PageStats
			if v := ctx.Value(); v != nil {
				s = v.(PageStats)
			}
			user := msg.(string)
			var clicks int64
			if v := ctx.Lookup(counterTable, user); v != nil {
				clicks = v.(int64)
			}
			s.Visits++
			if clicks >= s.TopUserClicks {
				s.TopUser, s.TopUserClicks = user, clicks
			}
			ctx.SetValue(s)
		}),
		goka.Lookup(counterTable, new(codec.Int64)),
		goka.Persist(new(codec.JSON[PageStats])),
	)
}
