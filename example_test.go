package goka_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/tester"
)

// The examples run on the tester's in-memory Kafka, so they need no broker:
// the brokers they name are never contacted. In a test, a tester is made
// with tester.New(t); an example has no *testing.T, so it uses exampleT.

var brokers = []string{"localhost:9092"}

// exampleT stands in for a test's *testing.T: a failure in the tester ends
// the example with a panic.
type exampleT struct{}

func (exampleT) Errorf(format string, args ...interface{}) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatalf(format string, args ...interface{}) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Fatal(args ...interface{})                 { panic(fmt.Sprint(args...)) }

// A processor that counts the clicks of every user in its group table.
func ExampleProcessor() {
	tt := tester.New(exampleT{}) // in a test: tester.New(t)

	graph := goka.DefineGroup("click-counter",
		goka.Input("clicks", new(codec.String), func(ctx goka.Context, msg interface{}) {
			clicks, _ := ctx.Value().(int64)
			ctx.SetValue(clicks + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(brokers, graph, goka.WithTester(tt))
	if err != nil {
		log.Fatal(err)
	}

	// Run blocks until ctx is cancelled or a callback fails, and returns only
	// after everything it started has stopped.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()

	for _, user := range []string{"alice", "bob", "alice"} {
		tt.Consume("clicks", user, "click")
	}
	clicks, err := proc.Get("alice")
	fmt.Println("alice:", clicks, err)
	fmt.Println("bob:", tt.TableValue("click-counter-table", "bob"))

	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// alice: 2 <nil>
	// bob: 1
}

// A view keeps a copy of a table, here the one the "user-names" processor
// writes, and serves reads of any key.
func ExampleView_Get() {
	tt := tester.New(exampleT{}) // in a test: tester.New(t)

	proc, err := goka.NewProcessor(brokers, goka.DefineGroup("user-names",
		goka.Input("name-changes", new(codec.String), func(ctx goka.Context, msg interface{}) {
			ctx.SetValue(msg)
		}),
		goka.Persist(new(codec.String)),
	), goka.WithTester(tt))
	if err != nil {
		log.Fatal(err)
	}
	view, err := goka.NewView(brokers, goka.GroupTable("user-names"), new(codec.String), goka.WithViewTester(tt))
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	procDone, viewDone := make(chan error, 1), make(chan error, 1)
	go func() { procDone <- proc.Run(ctx) }()
	go func() { viewDone <- view.Run(ctx) }()

	tt.Consume("name-changes", "u1", "Alice")
	tt.Consume("name-changes", "u2", "Bob")

	// Until it has recovered, a view cannot tell a missing key from one it
	// has not read yet; WaitRecovered waits for that point.
	if err := view.WaitRecovered(ctx); err != nil {
		log.Fatal(err)
	}
	for _, key := range []string{"u1", "u2", "u3"} {
		name, err := view.Get(key)
		fmt.Printf("%s: %v (err: %v)\n", key, name, err)
	}

	cancel()
	if err := errors.Join(<-procDone, <-viewDone); err != nil {
		log.Fatal(err)
	}
	// Output:
	// u1: Alice (err: <nil>)
	// u2: Bob (err: <nil>)
	// u3: <nil> (err: <nil>)
}

// An emitter writes to a stream from outside any processor, for example
// from a web handler.
func ExampleEmitter() {
	tt := tester.New(exampleT{}) // in a test: tester.New(t)

	emitter, err := goka.NewEmitter(brokers, "user-events", new(codec.String), goka.WithEmitterTester(tt))
	if err != nil {
		log.Fatal(err)
	}
	events := tt.NewQueueTracker("user-events")

	// EmitSync waits for Kafka's acknowledgement.
	if err := emitter.EmitSync("alice", "logged in"); err != nil {
		log.Fatal(err)
	}
	// Emit does not wait; Finish waits for every pending message.
	if _, err := emitter.Emit("bob", "logged out"); err != nil {
		log.Fatal(err)
	}
	if err := emitter.Finish(); err != nil {
		log.Fatal(err)
	}

	for {
		user, event, ok := events.Next()
		if !ok {
			break
		}
		fmt.Println(user, event)
	}
	// Output:
	// alice logged in
	// bob logged out
}

// Loopback re-keys a message: a message to a chat room is delivered to each
// member, so every member's unread count lives in the member's own row of
// the group table, owned by the partition of that member.
func ExampleContext_Loopback() {
	tt := tester.New(exampleT{}) // in a test: tester.New(t)

	members := map[string][]string{
		"golang": {"alice", "bob"},
		"kafka":  {"bob", "carol"},
	}
	graph := goka.DefineGroup("inbox",
		goka.Input("room-messages", new(codec.String), func(ctx goka.Context, msg interface{}) {
			for _, member := range members[ctx.Key()] {
				ctx.Loopback(member, msg)
			}
		}),
		goka.Loop(new(codec.String), func(ctx goka.Context, msg interface{}) {
			unread, _ := ctx.Value().(int64)
			ctx.SetValue(unread + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(brokers, graph, goka.WithTester(tt))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()

	tt.Consume("room-messages", "golang", "hi")
	tt.Consume("room-messages", "kafka", "hello")
	tt.Consume("room-messages", "golang", "bye")

	for _, user := range tt.GetTableKeys("inbox-table") {
		fmt.Println(user, tt.TableValue("inbox-table", user))
	}

	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// alice 2
	// bob 3
	// carol 1
}

// Join reads the row of the message's key in another table, co-partitioned
// with the input. Here "user-country-table" would be written by a group
// "user-country"; the tester seeds it instead.
func ExampleContext_Join() {
	tt := tester.New(exampleT{}) // in a test: tester.New(t)

	graph := goka.DefineGroup("purchases-by-country",
		goka.Input("purchases", new(codec.Int64), func(ctx goka.Context, msg interface{}) {
			country, ok := ctx.Join("user-country-table").(string)
			if !ok {
				country = "unknown"
			}
			ctx.Emit("country-purchases", country, msg)
		}),
		goka.Join("user-country-table", new(codec.String)),
		goka.Output("country-purchases", new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(brokers, graph, goka.WithTester(tt))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()

	tt.SetTableValue("user-country-table", "alice", "DE")
	out := tt.NewQueueTracker("country-purchases")
	tt.Consume("purchases", "alice", int64(1200))
	tt.Consume("purchases", "bob", int64(500))

	for {
		country, cents, ok := out.Next()
		if !ok {
			break
		}
		fmt.Println(country, cents)
	}

	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// DE 1200
	// unknown 500
}

// Lookup reads any key of a table, not only the message's: here the price of
// the product a user puts in their cart.
func ExampleContext_Lookup() {
	tt := tester.New(exampleT{}) // in a test: tester.New(t)

	graph := goka.DefineGroup("cart-total",
		goka.Input("cart-additions", new(codec.String), func(ctx goka.Context, msg interface{}) {
			price, ok := ctx.Lookup("prices-table", msg.(string)).(int64)
			if !ok {
				ctx.Fail(fmt.Errorf("no price for product %q", msg))
			}
			total, _ := ctx.Value().(int64)
			ctx.SetValue(total + price)
		}),
		goka.Lookup("prices-table", new(codec.Int64)),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(brokers, graph, goka.WithTester(tt))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()

	tt.SetTableValue("prices-table", "tea", int64(350))
	tt.SetTableValue("prices-table", "cake", int64(420))
	for _, product := range []string{"tea", "cake", "tea"} {
		tt.Consume("cart-additions", "alice", product)
	}
	fmt.Println("alice pays", tt.TableValue("cart-total-table", "alice"))

	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// alice pays 1120
}

// DefineGroup describes a group: what it reads, what it writes, and which
// topics it owns. The topics of the loop and the table are named after the
// group.
func ExampleDefineGroup() {
	ignore := func(ctx goka.Context, msg interface{}) {}
	graph := goka.DefineGroup("fraud-detector",
		goka.Input("payments", new(codec.Int64), ignore),
		goka.Join("user-limits-table", new(codec.Int64)),
		goka.Lookup("blocked-cards-table", new(codec.String)),
		goka.Loop(new(codec.Int64), ignore),
		goka.Output("alerts", new(codec.String)),
		goka.Persist(new(codec.Int64)),
	)
	if err := graph.Validate(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("group:  ", graph.Group())
	fmt.Println("inputs: ", graph.InputStreams().Topics())
	fmt.Println("joins:  ", graph.JointTables().Topics())
	fmt.Println("lookups:", graph.LookupTables().Topics())
	fmt.Println("outputs:", graph.OutputStreams().Topics())
	fmt.Println("loop:   ", graph.LoopStream().Topic())
	fmt.Println("table:  ", graph.GroupTable().Topic())

	// A graph without an input cannot run.
	err := goka.DefineGroup("idle", goka.Persist(new(codec.Int64))).Validate()
	fmt.Println("invalid:", errors.Is(err, goka.ErrInvalidGraph))
	// Output:
	// group:   fraud-detector
	// inputs:  [payments]
	// joins:   [user-limits-table]
	// lookups: [blocked-cards-table]
	// outputs: [alerts]
	// loop:    fraud-detector-loop
	// table:   fraud-detector-table
	// invalid: true
}
