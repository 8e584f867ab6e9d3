package goka

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keptStores is a storage builder that hands back the same memory store for
// the same topic and partition, as users write to reach their stores.
type keptStores struct {
	mu     sync.Mutex
	stores map[string]storage.Storage
}

func newKeptStores() *keptStores { return &keptStores{stores: make(map[string]storage.Storage)} }

func (k *keptStores) builder() storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		k.mu.Lock()
		defer k.mu.Unlock()
		name := fmt.Sprintf("%s/%d", topic, partition)
		st, ok := k.stores[name]
		if !ok {
			st = storage.NewMemory()
			k.stores[name] = st
		}
		return st, nil
	}
}

// get reads key from the store of topic/partition; nil when there is none.
func (k *keptStores) get(topic string, partition int32, key string) []byte {
	k.mu.Lock()
	st := k.stores[fmt.Sprintf("%s/%d", topic, partition)]
	k.mu.Unlock()
	if st == nil {
		return nil
	}
	v, err := st.Get(key)
	if err != nil {
		return nil
	}
	return v
}

// joinGraph counts clicks per key and joins the users table.
func joinGraph() *GroupGraph {
	return DefineGroup("counter",
		Input("clicks", new(codec.String), counter),
		Join("users", new(codec.String)),
		Persist(new(codec.Int64)))
}

// TestProcessorRecoverAheadTwoInstances: two instances with WithRecoverAhead
// on one-partition topics both become ready, and both hold the rows of the
// group table and of the join in the stores their builder hands out (the
// same store for the same partition).
func TestProcessorRecoverAheadTwoInstances(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 1)
	env.createTopic("users", 1)
	env.emitSync("users", new(codec.String), "key-000", "alice")
	env.emitCounts("clicks", 3, 2, "click")

	writer := env.processor(joinGraph(), storage.MemoryBuilder())
	r := env.start(writer)
	eventually(t, "counted", func() bool { return hasCounts(writer, uniformCounts(3, 2)) })
	require.NoError(t, r.stop(t))

	kept := []*keptStores{newKeptStores(), newKeptStores()}
	var procs []*Processor
	for _, k := range kept {
		proc := env.processor(joinGraph(), k.builder(), WithRecoverAhead())
		env.startReady(proc)
		procs = append(procs, proc)
	}
	for i, k := range kept {
		eventually(t, fmt.Sprintf("instance %d recovered, holding the rows", i), func() bool {
			if !procs[i].Recovered() {
				return false // the other instance's join rebalances the group
			}
			count := k.get("counter-table", 0, "key-001")
			user := k.get("users", 0, "key-000")
			return count != nil && string(user) == "alice"
		})
	}
}

// TestProcessorHotStandbyKeepsStores: with hot standby and a builder that
// hands back the same store per partition, the standby's stores hold the
// rows written after it started, and when the active instance leaves, the
// standby takes its partitions over without restoring a record.
func TestProcessorHotStandbyKeepsStores(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys = 2, 10
	env.createTopic("clicks", partitions)
	env.emitCounts("clicks", keys, 1, "click")

	first := env.processor(countingGraph(), storage.MemoryBuilder(), WithHotStandby())
	r1 := env.start(first)
	eventually(t, "counted", func() bool { return hasCounts(first, uniformCounts(keys, 1)) })
	kept := newKeptStores()
	second := env.processor(countingGraph(), kept.builder(), WithHotStandby())
	r2 := env.start(second)
	eventually(t, "the partitions split", func() bool { return splitEvenly(first, second, partitions) })

	env.emitCounts("clicks", keys, 2, "click")
	eventually(t, "counted again", func() bool {
		return hasCounts(first, uniformCounts(keys, 3)) && hasCounts(second, uniformCounts(keys, 3))
	})
	standby := activePartitions(first)
	require.Len(t, standby, 1)
	part := standby[0]
	var key string
	for k := 0; k < keys && key == ""; k++ {
		if partitionOf(t, keyOf(k), partitions) == part {
			key = keyOf(k)
		}
	}
	require.NotEmpty(t, key)
	eventually(t, "the standby store holds the new row", func() bool {
		v := kept.get("counter-table", part, key)
		if v == nil {
			return false
		}
		n, err := new(codec.Int64).Decode(v)
		return err == nil && n.(int64) == 3
	})
	// Wait until the standby applied every table record of the partition.
	hwm := env.newestOffset("counter-table", part)
	var restored uint
	eventually(t, "the standby caught up", func() bool {
		s := second.Stats().Group[part]
		if s == nil || s.TableStats == nil || s.TableStats.Input.LastOffset != hwm-1 {
			return false
		}
		restored = s.TableStats.Input.Count
		return true
	})

	require.NoError(t, r1.stop(t))
	eventually(t, "the standby takes over", func() bool {
		return len(activePartitions(second)) == partitions && second.Recovered()
	})
	s := second.Stats().Group[part]
	require.NotNil(t, s)
	assert.Equal(t, restored, s.TableStats.Input.Count, "taking over restores no record")
	env.emitCounts("clicks", keys, 1, "click")
	eventually(t, "counted after the takeover", func() bool { return hasCounts(second, uniformCounts(keys, 4)) })
	require.NoError(t, r2.stop(t))
}

// countingBuilds wraps a builder and counts the stores built per topic and
// partition.
type countingBuilds struct {
	inner storage.Builder
	mu    sync.Mutex
	n     map[string]int
}

func (c *countingBuilds) builder() storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		c.mu.Lock()
		c.n[fmt.Sprintf("%s/%d", topic, partition)]++
		c.mu.Unlock()
		return c.inner(topic, partition)
	}
}

func (c *countingBuilds) builds(topic string, partition int32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[fmt.Sprintf("%s/%d", topic, partition)]
}

// TestProcessorRebalancesKeepStores: while messages flow, a second instance
// joins and leaves ten times; a LevelDB partition that never left the
// first instance is opened once and restores nothing, and the counts stay
// exact.
func TestProcessorRebalancesKeepStores(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const partitions, keys, rounds = 4, 20, 10
	env.createTopic("clicks", partitions)

	em := env.emitter("clicks", new(codec.String))
	var emitted atomic.Int64
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
			if err := em.EmitSync(keyOf(i%keys), "click"); err != nil {
				t.Errorf("emit: %v", err)
				return
			}
			emitted.Add(1)
		}
	}()

	builds := &countingBuilds{inner: storage.DefaultBuilder(t.TempDir()), n: make(map[string]int)}
	var mu sync.Mutex
	held := make(map[int32]int) // sessions of the first instance holding each partition
	sessions := 0
	// The group splits the sorted partitions into ranges over the members
	// sorted by ID, which starts with the client ID: the first instance
	// keeps the first range in every split.
	first := env.processor(countingGraph(), builds.builder(), WithClientID("a-first"), WithRebalanceCallback(func(a Assignment) {
		mu.Lock()
		defer mu.Unlock()
		sessions++
		for p := range a {
			held[p]++
		}
	}))
	r1 := env.start(first)
	eventually(t, "messages flowing", func() bool { return emitted.Load() > 100 })
	secondDir := t.TempDir()
	for i := 0; i < rounds; i++ {
		second := env.processor(countingGraph(), storage.DefaultBuilder(secondDir), WithClientID("b-second"))
		r2 := env.start(second)
		eventually(t, "the partitions split", func() bool { return splitEvenly(first, second, partitions) })
		require.NoError(t, r2.stop(t))
		eventually(t, "the first holds every partition", func() bool {
			return len(activePartitions(first)) == partitions && first.Recovered()
		})
	}
	close(stopEmitting)
	<-emitting
	require.NoError(t, em.Finish())

	want := uniformCounts(keys, 0)
	total := emitted.Load()
	for i := int64(0); i < total; i++ {
		want[keyOf(int(i%keys))]++
	}
	eventually(t, "exact counts", func() bool { return hasCounts(first, want) })

	mu.Lock()
	var stayed []int32
	for p := int32(0); p < partitions; p++ {
		if held[p] == sessions {
			stayed = append(stayed, p)
		}
	}
	mu.Unlock()
	require.NotEmpty(t, stayed, "some partition never left the first instance")
	stats := first.Stats().Group
	for _, p := range stayed {
		assert.Equal(t, 1, builds.builds("counter-table", p), "partition %d opened once", p)
		assert.Zero(t, stats[p].TableStats.Input.Count, "partition %d restored nothing", p)
	}
	require.NoError(t, r1.stop(t))
}

// TestProcessorIdleInstanceIsReady: an instance the group assigns no
// partition is Running and recovered, and WaitForReady returns; with hot
// standby or recover-ahead once its warm tables are caught up.
func TestProcessorIdleInstanceIsReady(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]ProcessorOption{
		"plain":         nil,
		"hot standby":   {WithHotStandby()},
		"recover ahead": {WithRecoverAhead()},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := newProcEnv(t)
			env.createTopic("clicks", 1)
			env.emitCounts("clicks", 5, 1, "click")
			first := env.processor(countingGraph(), storage.MemoryBuilder(), opts...)
			env.startReady(first)
			eventually(t, "counted", func() bool { return hasCounts(first, uniformCounts(5, 1)) })
			second := env.processor(countingGraph(), storage.MemoryBuilder(), opts...)
			env.startReady(second)
			// The group gives the one partition to either instance.
			var idle *Processor
			eventually(t, "one instance holds the partition", func() bool {
				a, b := activePartitions(first), activePartitions(second)
				switch {
				case len(a) == 1 && len(b) == 0:
					idle = second
				case len(a) == 0 && len(b) == 1:
					idle = first
				default:
					return false
				}
				return true
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, idle.WaitForReadyContext(ctx))
			assert.Equal(t, ProcStateRunning, idle.StateReader().State())
			assert.True(t, idle.Recovered())
		})
	}
}
