package metrics

import "time"

// Instant is a point on the monotonic clock: the time since the package was
// loaded. Reading it costs one monotonic clock read, about half of
// time.Now, which also reads the wall clock; durations on the hot path need
// only the monotonic one.
type Instant time.Duration

// epoch carries a monotonic reading, so time.Since(epoch) reads only the
// monotonic clock.
var epoch = time.Now()

func now() Instant { return Instant(time.Since(epoch)) }

// since returns the seconds from begin to now.
func since(begin Instant) float64 {
	return time.Duration(now() - begin).Seconds()
}
