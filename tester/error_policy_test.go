package tester_test

import (
	"context"
	"errors"
	"testing"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErrorPolicyUnderTheTester: a unit test sees a skipped message leave
// nothing and a dead letter in the tester's queue of <group>-dlq, with the
// processor still running for the messages after it.
func TestErrorPolicyUnderTheTester(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  goka.ErrorPolicy
		letters int
	}{
		{"skip", goka.SkipOnError(), 0},
		{"dead-letter", goka.DeadLetterOnError(), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := tester.New(t)
			proc, err := goka.NewProcessor(nil, goka.DefineGroup("policy",
				goka.Input("in", new(codec.String), func(ctx goka.Context, msg interface{}) {
					ctx.Emit("out", ctx.Key(), msg)
					if msg.(string) == "bad" {
						ctx.Fail(errors.New("cannot handle bad"))
					}
				}),
				goka.Output("out", new(codec.String)),
			), goka.WithTester(tt), goka.WithErrorPolicy(tc.policy))
			require.NoError(t, err)
			out := tt.NewQueueTracker("out")
			dlq := tt.NewQueueTracker("policy-dlq")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- proc.Run(ctx) }()
			defer func() {
				cancel()
				require.NoError(t, <-done)
			}()

			for _, v := range []string{"1", "bad", "2"} {
				tt.Consume("in", "k", v)
			}
			var values []interface{}
			for {
				_, v, ok := out.Next()
				if !ok {
					break
				}
				values = append(values, v)
			}
			assert.Equal(t, []interface{}{"1", "2"}, values)
			var letters int
			for {
				headers, key, value, ok := dlq.NextRawWithHeaders()
				if !ok {
					break
				}
				letters++
				assert.Equal(t, "k", key)
				assert.Equal(t, "bad", string(value))
				assert.Equal(t, "cannot handle bad", string(headers[goka.DeadLetterHeaderError]))
				assert.Equal(t, "in", string(headers[goka.DeadLetterHeaderTopic]))
				assert.Equal(t, "1", string(headers[goka.DeadLetterHeaderOffset]))
			}
			assert.Equal(t, tc.letters, letters)
		})
	}
}
