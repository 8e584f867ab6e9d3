package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/tester"
)

// testerWorkload times tester.Consume through a processor that sets one
// value per message. There is no broker and no raw client to compare with:
// the figure tells how long a unit test of many messages takes.
func testerWorkload(ctx context.Context, e *env) ([]result, error) {
	lib := &measurement{name: "tester", run: func() (timing, error) { return e.testerConsume(ctx) }}
	if err := measureAll(e.opts.runs, lib); err != nil {
		return nil, err
	}
	r := newResult("tester", "msgs/s", lib.best)
	r.Note = "Consume through a processor with one SetValue; in memory, no baseline"
	return []result{r}, nil
}

// testerConsume times TesterN Consume calls on a fresh tester.
func (e *env) testerConsume(ctx context.Context) (timing, error) {
	s := e.opts.sizes
	tt := tester.New(panicT{})
	input := goka.Stream("tester-input")
	group := goka.Group("tester-counter")
	gg := goka.DefineGroup(group,
		goka.Input(input, new(codec.String), func(ctx goka.Context, _ any) {
			var c int64
			if v := ctx.Value(); v != nil {
				c = v.(int64)
			}
			ctx.SetValue(c + 1)
		}),
		goka.Persist(new(codec.Int64)))
	proc, err := goka.NewProcessor(nil, gg, goka.WithTester(tt), goka.WithLogger(e.logger))
	if err != nil {
		return timing{}, err
	}
	run := runInBackground(ctx, proc.Run)
	value := string(filler(s.ValueSize))
	// The first Consume waits for the processor to start; not timed.
	tt.Consume(string(input), keyOf(0), value)

	w := openMemWindow()
	stopProfiles := e.startProfiles("tester")
	start := time.Now()
	for i := range s.TesterN {
		if ctx.Err() != nil {
			break
		}
		tt.Consume(string(input), keyOf(i%s.Keys), value)
	}
	elapsed := time.Since(start)
	stopProfiles()
	mem := w.close()
	err = ctx.Err()
	if err == nil {
		// Key 0 had the untimed message and every Keys-th timed one.
		want := int64((s.TesterN-1)/s.Keys + 2)
		if got := tt.TableValue(goka.GroupTable(group), keyOf(0)); got != want {
			err = fmt.Errorf("the table holds %v for %s, want %d", got, keyOf(0), want)
		}
	}
	if err = errors.Join(err, run.stop()); err != nil {
		return timing{}, err
	}
	return timing{count: int64(s.TesterN), elapsed: elapsed, mem: mem}, nil
}

// panicT is the tester's T outside a test: a failure ends the workload, which
// runWorkload reports.
type panicT struct{}

func (panicT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (panicT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (panicT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
