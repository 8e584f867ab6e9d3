package goka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
)

// The context a callback gets from Context.Context() may be kept past the
// callback, for work it started: it must end when the partition stops,
// also when it stops because a later message failed, so that such work
// does not outlive the processor.
func TestCallbackContextEndsWhenThePartitionFails(t *testing.T) {
	e := newProcEnv(t)
	e.createTopic("ctx-in", 1)
	kept := make(chan context.Context, 1)
	failure := errors.New("the second message fails")
	gg := DefineGroup("ctx-group", Input("ctx-in", new(codec.String), func(ctx Context, msg interface{}) {
		switch msg.(string) {
		case "keep":
			kept <- ctx.Context()
		case "fail":
			ctx.Fail(failure)
		}
	}))
	r := e.start(e.processor(gg, storage.MemoryBuilder()))
	e.emitSync("ctx-in", new(codec.String), "a", "keep")
	var c context.Context
	select {
	case c = <-kept:
	case <-time.After(30 * time.Second):
		t.Fatal("the first callback did not run")
	}
	require.NoError(t, c.Err(), "the kept context ended while the partition runs")

	e.emitSync("ctx-in", new(codec.String), "a", "fail")
	select {
	case <-c.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the kept context did not end when the partition failed")
	}
	assert.ErrorIs(t, r.wait(t), failure)
}
