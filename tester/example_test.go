package tester_test

import (
	"context"
	"fmt"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/tester"
)

// exampleT stands in for a test's *testing.T, which an example does not
// have: a failure in the tester ends the example with a panic.
type exampleT struct{}

func (exampleT) Errorf(format string, args ...interface{}) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatalf(format string, args ...interface{}) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatal(args ...interface{})                 { panic(fmt.Sprint(args...)) }

// A unit test of a processor as goka users write it: the tracker of the
// output first, then Run in a goroutine, then messages in and assertions.
func ExampleTester() {
	tt := tester.New(exampleT{}) // in a test: tester.New(t)
	proc, err := goka.NewProcessor(nil, goka.DefineGroup("greeter",
		goka.Input("names", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(msg)
			ctx.Emit("greetings", ctx.Key(), "hello "+msg.(string),
				goka.WithCtxEmitHeaders(goka.Headers{"lang": []byte("en")}))
		}),
		goka.Output("greetings", new(codec.String)),
		goka.Persist(new(codec.String)),
	), goka.WithTester(tt))
	if err != nil {
		panic(err)
	}
	greetings := tt.NewQueueTracker("greetings")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() { cancel(); <-done }()

	tt.Consume("names", "user-1", "ann")
	headers, key, value, ok := greetings.NextWithHeaders()
	fmt.Println(string(headers["lang"]), key, value, ok)
	fmt.Println(tt.TableValue("greeter-table", "user-1"))
	_, _, ok = greetings.Next()
	fmt.Println(ok)
	// Output:
	// en user-1 hello ann true
	// ann
	// false
}
