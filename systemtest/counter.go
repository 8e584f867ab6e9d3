package systemtest

import (
	"fmt"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// CounterGraph returns the group graph the delivery scenarios run: it reads
// int64 deltas from input and keeps their sum per key in the group table. A
// test that sends +1 per message expects each key's value to equal the number
// of its messages; more is a message counted twice, less a lost one.
//
// counted, when not nil, is called after each message with its key and the
// key's new sum, from the partition's goroutine.
func CounterGraph(group goka.Group, input goka.Stream, counted func(key string, sum int64)) *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(input, new(codec.Int64), func(ctx goka.Context, msg interface{}) {
			delta, ok := msg.(int64)
			if !ok {
				ctx.Fail(fmt.Errorf("counter: message of key %q is %T, not int64", ctx.Key(), msg))
				return
			}
			var sum int64
			if v := ctx.Value(); v != nil {
				sum = v.(int64)
			}
			sum += delta
			ctx.SetValue(sum)
			if counted != nil {
				counted(ctx.Key(), sum)
			}
		}),
		goka.Persist(new(codec.Int64)),
	)
}
