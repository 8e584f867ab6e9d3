package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkMessage is what the engine adds per processed message that
// emits once and writes its table once: count the input, time the
// callback, count two outputs.
func BenchmarkMessage(b *testing.B) {
	for _, bc := range []struct {
		name string
		reg  prometheus.Registerer
	}{
		{"off", nil},
		{"on", prometheus.NewRegistry()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := NewProcessor(bc.reg, "g")
			if err != nil {
				b.Fatal(err)
			}
			p := m.Partition(3, []string{"clicks", "g-loop"}, []string{"out", "g-table", "g-loop"})
			b.ReportAllocs()
			// One goroutine, as a partition's messages are processed.
			for b.Loop() {
				p.Consumed("clicks", 100)
				begin := p.Begin()
				p.Emitted("out", 100)
				p.Emitted("g-table", 8)
				p.CallbackDone("clicks", begin)
			}
		})
	}
}
