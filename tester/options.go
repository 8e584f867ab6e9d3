package tester

import (
	"time"

	"github.com/seed-b2c684ed/goka"
)

// EmitOption changes a message given to Consume.
type EmitOption func(*emitOption)

type emitOption struct {
	headers goka.Headers
	time    time.Time
}

// WithHeaders adds headers to the message; used several times, they merge.
func WithHeaders(h goka.Headers) EmitOption {
	return func(o *emitOption) { o.headers = o.headers.Merged(h) }
}

// WithTime sets the message's timestamp. Without it the timestamp is the zero
// time, as in goka's tester.
func WithTime(t time.Time) EmitOption {
	return func(o *emitOption) { o.time = t }
}

// Option configures a Tester.
type Option func(*Tester)

// WithStartupTimeout sets how long Consume and the other calls wait for every
// registered processor and view to run, and for a cascade to settle, before
// they fail the test. Default: 10 s.
func WithStartupTimeout(d time.Duration) Option {
	return func(tt *Tester) { tt.timeout = d }
}
