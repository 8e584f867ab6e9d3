package goka

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// activePartitions returns the partitions a processor runs actively, sorted.
func activePartitions(proc *Processor) []int32 {
	var parts []int32
	for p, s := range proc.Stats().Group {
		if s.TableStats == nil || s.TableStats.RunMode == runModeActive {
			parts = append(parts, p)
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	return parts
}

// splitEvenly reports whether a and b are disjoint, non-empty and cover
// 0..n-1, with every partition of both recovered.
func splitEvenly(a, b *Processor, n int32) bool {
	pa, pb := activePartitions(a), activePartitions(b)
	if len(pa) == 0 || len(pb) == 0 || len(pa)+len(pb) != int(n) || !a.Recovered() || !b.Recovered() {
		return false
	}
	seen := make(map[int32]bool)
	for _, p := range append(pa, pb...) {
		if seen[p] || p < 0 || p >= n {
			return false
		}
		seen[p] = true
	}
	return true
}

// countsAcross checks want against whichever of procs holds each key, and
// that exactly one of them does.
func countsAcross(want map[string]int64, procs ...*Processor) bool {
	for key, n := range want {
		owners := 0
		for _, proc := range procs {
			v, err := proc.Get(key)
			if err != nil {
				continue
			}
			owners++
			if v == nil || v.(int64) != n {
				return false
			}
		}
		if owners != 1 {
			return false
		}
	}
	return true
}

// TestProcessorGroupHandover: two processors of one group split the
// partitions; when one stops, the other takes all of them over, and the
// counts stay exact through both rebalances.
func TestProcessorGroupHandover(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys = 4, 40
	env.createTopic("clicks", partitions)
	env.emitCounts("clicks", keys, 3, "click")

	first := env.processor(countingGraph(), storage.MemoryBuilder())
	r1 := env.start(first)
	second := env.processor(countingGraph(), storage.MemoryBuilder())
	r2 := env.start(second)
	eventually(t, "the partitions split", func() bool { return splitEvenly(first, second, partitions) })
	eventually(t, "counted by the owners", func() bool { return countsAcross(uniformCounts(keys, 3), first, second) })

	// Get answers only for the partitions a processor holds.
	for k := 0; k < keys; k++ {
		_, err1 := first.Get(keyOf(k))
		_, err2 := second.Get(keyOf(k))
		assert.True(t, (err1 == nil) != (err2 == nil), "exactly one processor holds key %s", keyOf(k))
		for _, err := range []error{err1, err2} {
			if err != nil {
				assert.Contains(t, err.Error(), "does not contain partition")
			}
		}
	}

	require.NoError(t, r2.stop(t))
	eventually(t, "the first takes over", func() bool {
		return len(activePartitions(first)) == partitions && first.Recovered()
	})
	env.emitCounts("clicks", keys, 2, "click")
	eventually(t, "counted after the handover", func() bool { return hasCounts(first, uniformCounts(keys, 5)) })
	require.NoError(t, r1.stop(t))
}

// TestProcessorHotStandby: with hot standby each of two processors keeps
// every partition of the table, so Get answers for any key on both.
func TestProcessorHotStandby(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys = 4, 20
	env.createTopic("clicks", partitions)
	env.emitCounts("clicks", keys, 2, "click")

	first := env.processor(countingGraph(), storage.MemoryBuilder(), WithHotStandby())
	r1 := env.start(first)
	second := env.processor(countingGraph(), storage.MemoryBuilder(), WithHotStandby())
	r2 := env.start(second)
	eventually(t, "the partitions split", func() bool { return splitEvenly(first, second, partitions) })
	for _, proc := range []*Processor{first, second} {
		stats := proc.Stats().Group
		assert.Len(t, stats, partitions, "active and passive partitions")
		passive := 0
		for _, s := range stats {
			if s.TableStats.RunMode == runModePassive {
				passive++
			}
		}
		assert.Equal(t, partitions-len(activePartitions(proc)), passive)
	}
	want := uniformCounts(keys, 2)
	eventually(t, "both see every count", func() bool { return hasCounts(first, want) && hasCounts(second, want) })

	// The passive partitions follow the table.
	env.emitCounts("clicks", keys, 1, "click")
	want = uniformCounts(keys, 3)
	eventually(t, "both see the new counts", func() bool { return hasCounts(first, want) && hasCounts(second, want) })
	require.NoError(t, r2.stop(t))
	require.NoError(t, r1.stop(t))
}

// TestProcessorGracefulShutdown: cancelling Run while messages flow returns
// promptly, with every processed message committed and its table write
// flushed: a restarted processor ends with exact counts.
func TestProcessorGracefulShutdown(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys = 10
	env.createTopic("clicks", 2)

	// Emit until told to stop, counting the acknowledged messages per key.
	em := env.emitter("clicks", new(codec.String))
	var (
		mu      sync.Mutex
		emitted = make(map[string]int64)
	)
	stopEmitting := make(chan struct{})
	emitting := make(chan struct{})
	go func() {
		defer close(emitting)
		for i := 0; ; i++ {
			select {
			case <-stopEmitting:
				return
			default:
			}
			key := keyOf(i % keys)
			if err := em.EmitSync(key, "click"); err != nil {
				t.Errorf("emit: %v", err)
				return
			}
			mu.Lock()
			emitted[key]++
			mu.Unlock()
		}
	}()

	proc := env.processor(countingGraph(), storage.MemoryBuilder())
	r := env.start(proc)
	eventually(t, "messages flowing", func() bool {
		var n uint
		for _, s := range proc.Stats().Group {
			if in := s.Input["clicks"]; in != nil {
				n += in.Count
			}
		}
		return n >= 200
	})
	start := time.Now()
	require.NoError(t, r.stop(t))
	assert.Less(t, time.Since(start), 5*time.Second, "Run returns promptly")

	close(stopEmitting)
	<-emitting
	require.NoError(t, em.Finish())

	mu.Lock()
	want := make(map[string]int64, len(emitted))
	for k, n := range emitted {
		want[k] = n
	}
	mu.Unlock()
	proc = env.processor(countingGraph(), storage.MemoryBuilder())
	r = env.start(proc)
	eventually(t, "exact counts after the restart", func() bool { return hasCounts(proc, want) })
	require.NoError(t, r.stop(t))
}
