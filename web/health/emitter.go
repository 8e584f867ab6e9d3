package health

import (
	"context"
	"fmt"

	"github.com/seed-b2c684ed/goka"
)

// EmitterCheck returns the check of e: live and ready until Finish is
// called, neither after, since every emit is refused from then on.
//
// A send that fails does not make the emitter unready: the error goes to
// its caller, the next send may succeed, and an instance taken out of
// service for it would get no requests to show that it recovered.
func EmitterCheck(e *goka.Emitter, opts ...CheckOption) Checker { return newEmitterCheck(e, opts) }

func newEmitterCheck(e *goka.Emitter, opts []CheckOption) *emitterCheck {
	return &emitterCheck{e: e, cfg: newCheckConfig("emitter", opts)}
}

type emitterCheck struct {
	e   *goka.Emitter
	cfg checkConfig
}

func (c *emitterCheck) Live(context.Context) error { return c.check() }

func (c *emitterCheck) Ready(context.Context) error { return c.check() }

func (c *emitterCheck) check() error {
	select {
	case <-c.e.Done():
		return fmt.Errorf("%w: the emitter was finished", ErrStopped)
	default:
		return nil
	}
}
