package main

import "fmt"

// measurement is one side of a comparison, run -runs times: the library or a
// baseline.
type measurement struct {
	name string
	run  func() (timing, error)
	best timing
	done bool
}

// measureAll runs every measurement runs times, interleaved (all of them
// once, then all again), and keeps each one's fastest run. On a shared
// machine noise only ever slows a run down, so the fastest is the least
// disturbed, and interleaving exposes both sides of a ratio to the same
// drift. The peak RSS kept is the highest of all runs, not the fastest's.
func measureAll(runs int, ms ...*measurement) error {
	for range max(runs, 1) {
		for _, m := range ms {
			t, err := m.run()
			if err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			m.keep(t)
		}
	}
	return nil
}

func (m *measurement) keep(t timing) {
	if !m.done {
		m.best, m.done = t, true
		return
	}
	peak := max(m.best.mem.Peak, t.mem.Peak)
	if t.rate() > m.best.rate() {
		m.best = t
	}
	m.best.mem.Peak = peak
}
