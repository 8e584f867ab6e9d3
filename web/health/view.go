package health

import (
	"context"
	"errors"
	"fmt"

	"github.com/seed-b2c684ed/goka"
)

// ViewCheck returns the check of v:
//
//   - live unless Run returned an error (with WithViewAutoReconnect a view
//     rides out a broker outage inside Run, and stays live);
//   - ready while Run runs with every partition restored and following its
//     table (the view's state is Running: not while it reconnects, when its
//     values may be stale), none behind by more than the limit (WithMaxLag).
func ViewCheck(v *goka.View, opts ...CheckOption) Checker { return newViewCheck(v, opts) }

func newViewCheck(v *goka.View, opts []CheckOption) *viewCheck {
	return &viewCheck{v: v, cfg: newCheckConfig("view "+v.Topic(), opts)}
}

type viewCheck struct {
	v   *goka.View
	cfg checkConfig
}

func (c *viewCheck) Live(context.Context) error {
	select {
	case <-c.v.Done():
		if err := c.v.Error(); err != nil {
			return stopped(err)
		}
	default:
	}
	return nil
}

func (c *viewCheck) Ready(ctx context.Context) error {
	select {
	case <-c.v.Done():
		return stopped(c.v.Error())
	default:
	}
	var problems []error
	if !c.v.Recovered() {
		problems = append(problems, fmt.Errorf("%w: %s", ErrNotRecovered, viewStateName(c.v.CurrentState())))
	}
	stats := c.v.Stats(ctx)
	for _, partition := range sortedKeys(stats.Partitions) {
		problems = appendErr(problems, c.cfg.table("table", c.v.Topic(), partition, stats.Partitions[partition]))
	}
	return errors.Join(problems...)
}
