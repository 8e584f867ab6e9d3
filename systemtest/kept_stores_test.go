package systemtest_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	goka "github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/systemtest"
)

// The scenarios of this file check, against the real group coordinator,
// that a processor's local stores outlive its consumer group sessions: a
// partition that stays on an instance, or changes role there, keeps its
// store and restores nothing. The embedded broker's tests check the same in
// the root package; here the rebalances take the real protocol's timing.

// keptStores is a storage builder that hands back the same memory store for
// the same topic and partition, as users write to reach their stores from
// outside the processor. It counts the builder's calls and the rows written
// to each store.
type keptStores struct {
	mu     sync.Mutex
	stores map[string]*writeCounter
	builds map[string]int
}

// writeCounter is a store that counts the rows written to it: what a
// restore applied, since nothing else writes the store of an instance that
// does not process the partition. The batch writer of the store it wraps
// is hidden, so that batches are written row by row.
type writeCounter struct {
	storage.Storage
	writes atomic.Int64
}

func (w *writeCounter) Set(key string, value []byte) error {
	w.writes.Add(1)
	return w.Storage.Set(key, value)
}

func (w *writeCounter) Delete(key string) error {
	w.writes.Add(1)
	return w.Storage.Delete(key)
}

func newKeptStores() *keptStores {
	return &keptStores{stores: make(map[string]*writeCounter), builds: make(map[string]int)}
}

func (k *keptStores) builder() storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		k.mu.Lock()
		defer k.mu.Unlock()
		name := fmt.Sprintf("%s/%d", topic, partition)
		k.builds[name]++
		st, ok := k.stores[name]
		if !ok {
			st = &writeCounter{Storage: storage.NewMemory()}
			k.stores[name] = st
		}
		return st, nil
	}
}

// get reads key from the store of topic/partition: nil when there is no
// such store or key.
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

// writes returns how many rows were written to the store of
// topic/partition.
func (k *keptStores) writes(topic string, partition int32) int64 {
	k.mu.Lock()
	st := k.stores[fmt.Sprintf("%s/%d", topic, partition)]
	k.mu.Unlock()
	if st == nil {
		return 0
	}
	return st.writes.Load()
}

// getInt64 is get of a counter row; -1 when there is none.
func (k *keptStores) getInt64(topic string, partition int32, key string) int64 {
	v := k.get(topic, partition, key)
	if v == nil {
		return -1
	}
	n, err := new(codec.Int64).Decode(v)
	if err != nil {
		return -1
	}
	return n.(int64)
}

// buildCount returns how often the builder was called for topic/partition.
func (k *keptStores) buildCount(topic string, partition int32) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.builds[fmt.Sprintf("%s/%d", topic, partition)]
}

// countedBuilds wraps a builder and counts its calls per topic and
// partition: a store built once was never closed and reopened.
type countedBuilds struct {
	inner storage.Builder
	mu    sync.Mutex
	n     map[string]int
}

func (c *countedBuilds) builder() storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		c.mu.Lock()
		c.n[fmt.Sprintf("%s/%d", topic, partition)]++
		c.mu.Unlock()
		return c.inner(topic, partition)
	}
}

func (c *countedBuilds) count(topic string, partition int32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[fmt.Sprintf("%s/%d", topic, partition)]
}

// TestRecoverAheadTwoInstances runs two instances with WithRecoverAhead on
// a one-partition input joined with a one-partition table, each with a
// builder that hands back the same store for a partition. The group gives
// the one partition to one of them; both must become ready (the second
// instance once failed both with "open storage: storage: closed") and both
// stores must hold the group table's row and the join's.
func TestRecoverAheadTwoInstances(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	users := systemtest.UniqueName(t, "users")
	table := string(tableOf(group))
	c.createStream(input, 1)
	c.createTopic(users, 1, "compact")
	c.deleteLater(table)
	graph := func() *goka.GroupGraph {
		return goka.DefineGroup(goka.Group(group),
			goka.Input(goka.Stream(input), new(codec.Int64), func(ctx goka.Context, msg interface{}) {
				var sum int64
				if v := ctx.Value(); v != nil {
					sum = v.(int64)
				}
				ctx.SetValue(sum + msg.(int64))
			}),
			goka.Join(goka.Table(users), new(codec.String)),
			goka.Persist(new(codec.Int64)))
	}

	em, err := goka.NewEmitter(c.brokers, goka.Stream(users), new(codec.String),
		systemtest.EmitterOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig())...)
	require.NoError(t, err)
	require.NoError(t, em.EmitSync(keyName(0), "alice"))
	require.NoError(t, em.Finish())
	const keys, perKey = 20, 2
	emitInt64s(t, c, input, keys, perKey)

	writer := startPeer(t, c, "writer", graph(), storage.MemoryBuilder())
	c.waitConsumed(group, input, 1, writer.run)
	writer.stop(t)

	kept := []*keptStores{newKeptStores(), newKeptStores()}
	var members []*peer
	for i, k := range kept {
		members = append(members, startPeer(t, c, fmt.Sprintf("instance %d", i), graph(), k.builder(), goka.WithRecoverAhead()))
	}
	for i, k := range kept {
		m := members[i]
		waitFor(t, rebalanceDeadline, m.name+" to hold the table's and the join's rows", func() (bool, string) {
			require.True(t, m.run.running(), "%s ended: %v", m.name, m.run.err)
			count := k.getInt64(table, 0, keyName(1))
			user := string(k.get(users, 0, keyName(0)))
			return m.proc.Recovered() && count == perKey && user == "alice",
				fmt.Sprintf("recovered %v, count %d, user %q, sessions %v", m.proc.Recovered(), count, user, m.sessions.last())
		})
	}
	ready := time.Since(start)
	// Exactly one of them holds the partition.
	var active, ahead int
	waitFor(t, rebalanceDeadline, "one instance to hold the partition", func() (bool, string) {
		a, b := members[0].sessions.last(), members[1].sessions.last()
		active, ahead = 0, 1
		if len(b) == 1 {
			active, ahead = 1, 0
		}
		return len(a)+len(b) == 1, fmt.Sprintf("%v and %v", a, b)
	})
	writesAhead := kept[ahead].writes(table, 0)

	// The active instance writes one more row; when it leaves, the other
	// takes the partition over on the stores it restored ahead, applying
	// only that row.
	tableEnd := c.mustNewest(table, 1)[0]
	em, err = goka.NewEmitter(c.brokers, goka.Stream(input), new(codec.Int64),
		systemtest.EmitterOptions(systemtest.FastConfig(), systemtest.TopicManagerConfig())...)
	require.NoError(t, err)
	require.NoError(t, em.EmitSync(keyName(1), int64(1)))
	require.NoError(t, em.Finish())
	c.waitConsumed(group, input, 1, members[0].run, members[1].run)
	written := c.mustNewest(table, 1)[0] - tableEnd
	require.EqualValues(t, 1, written, "one table write for the one message")
	members[active].stop(t)
	members[ahead].waitHolds(t, 0)
	want := uniform(keys, perKey)
	want[keyName(1)]++
	for key, n := range want {
		v, err := members[ahead].proc.Get(key)
		require.NoError(t, err)
		assert.Equal(t, n, v, key)
	}
	takeoverWrites := kept[ahead].writes(table, 0) - writesAhead
	assert.Equal(t, written, takeoverWrites,
		"taking over applies only the table records written since the restore ahead (%d rows were restored ahead)", writesAhead)
	for _, topic := range []string{table, users} {
		assert.Equal(t, 1, kept[ahead].buildCount(topic, 0), "taking over keeps the store of %s", topic)
	}
	members[ahead].stop(t)
	t.Logf("summary: two recover-ahead instances ready with the table's and the join's rows in %s; "+
		"the one ahead restored %d rows ahead and %d at the takeover; whole test %s",
		ready.Round(time.Millisecond), writesAhead, takeoverWrites, time.Since(start).Round(time.Millisecond))
}

// TestHotStandbyTakeover runs two hot-standby instances over two
// partitions. The second, with a builder that hands back the same store per
// partition, keeps the partition it does not hold warm: its store shows
// the rows the active instance writes after the second started. When the
// active instance leaves, the second takes its partition over without
// restoring a record (its table reads stay where following left them) and
// without building the store again, and counts on from there exactly.
func TestHotStandbyTakeover(t *testing.T) {
	start := time.Now()
	const partitions, keys = 2, 10
	c := newCluster(t)
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	table := string(tableOf(group))
	c.createStream(input, partitions)
	c.deleteLater(table)
	graph := func() *goka.GroupGraph {
		return systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil)
	}

	emitInt64s(t, c, input, keys, 1)
	// The group gives ranges of partitions to members sorted by peer ID,
	// which starts with the client ID: the first keeps partition 0.
	firstBuilds := &countedBuilds{inner: storage.MemoryBuilder(), n: make(map[string]int)}
	first := startPeer(t, c, "first", graph(), firstBuilds.builder(), goka.WithHotStandby(), goka.WithClientID("a-first"))
	c.waitConsumed(group, input, partitions, first.run)
	handedOver := c.mustNewest(table, partitions)[1] // the first's own writes end here
	kept := newKeptStores()
	second := startPeer(t, c, "second", graph(), kept.builder(), goka.WithHotStandby(), goka.WithClientID("b-second"))
	first.waitHolds(t, 0)
	second.waitHolds(t, 1)

	emitInt64s(t, c, input, keys, 2)
	c.waitConsumed(group, input, partitions, first.run, second.run)
	// The first kept partition 1 warm on the store it was active on: it
	// reads only what the second wrote there.
	written := c.mustNewest(table, partitions)[1] - handedOver
	waitFor(t, consumeDeadline, "the first to follow partition 1", func() (bool, string) {
		s := first.proc.Stats().Group[1]
		if s == nil || s.TableStats == nil || s.TableStats.Input == nil {
			return false, "no stats for partition 1"
		}
		return s.TableStats.Input.LastOffset == handedOver+written-1,
			fmt.Sprintf("last offset %d, want %d", s.TableStats.Input.LastOffset, handedOver+written-1)
	})
	assert.Equal(t, 1, firstBuilds.count(table, 1), "active to standby keeps the store")
	assert.EqualValues(t, written, first.proc.Stats().Group[1].TableStats.Input.Count,
		"active to standby reads only the other instance's writes")
	const standby = int32(0) // held by the first, kept warm by the second
	var key string
	for k := 0; k < keys && key == ""; k++ {
		if partitionOfKey(t, keyName(k), partitions) == standby {
			key = keyName(k)
		}
	}
	require.NotEmpty(t, key, "no key of partition %d", standby)
	waitFor(t, consumeDeadline, "the standby store to hold the new row", func() (bool, string) {
		n := kept.getInt64(table, standby, key)
		return n == 3, fmt.Sprintf("%s is %d in the standby store", key, n)
	})
	// Every table record of the partition applied: what following read.
	hwm := c.mustNewest(table, partitions)[standby]
	var followed uint
	waitFor(t, consumeDeadline, "the standby to catch up", func() (bool, string) {
		s := second.proc.Stats().Group[standby]
		if s == nil || s.TableStats == nil || s.TableStats.Input == nil {
			return false, "no stats for the standby partition"
		}
		followed = s.TableStats.Input.Count
		return s.TableStats.Input.LastOffset == hwm-1,
			fmt.Sprintf("last offset %d of %d", s.TableStats.Input.LastOffset, hwm)
	})
	builds, rows := kept.buildCount(table, standby), kept.writes(table, standby)

	first.stop(t)
	tookOver := time.Now()
	second.waitHolds(t, 0, 1)
	took := time.Since(tookOver)
	s := second.proc.Stats().Group[standby]
	require.NotNil(t, s)
	require.NotNil(t, s.TableStats)
	assert.Equal(t, followed, s.TableStats.Input.Count, "taking over restores no record")
	assert.Equal(t, builds, kept.buildCount(table, standby), "taking over keeps the store it followed")
	assert.Equal(t, rows, kept.writes(table, standby), "taking over writes no row to the store it followed")

	emitInt64s(t, c, input, keys, 1)
	c.waitConsumed(group, input, partitions, second.run)
	for k := range keys {
		v, err := second.proc.Get(keyName(k))
		require.NoError(t, err)
		assert.Equal(t, int64(4), v, keyName(k))
	}
	second.stop(t)
	compareCounts(readTable(t, c.brokers, tableOf(group)), uniform(keys, 4)).requireExact(t)
	t.Logf("summary: hot standby followed %d table records, took over in %s restoring %d; whole test %s",
		followed, took.Round(time.Millisecond), s.TableStats.Input.Count-followed, time.Since(start).Round(time.Millisecond))
}

// TestRebalancesKeepStores keeps a load of +1 messages running while a
// second instance joins and leaves ten times. The first instance, on
// LevelDB, keeps the first range of partitions in every session: those
// partitions are built once and restore nothing. The others move to the
// second, which writes rows of each, and come back: the first then reads
// what the second wrote and nothing it had written itself. The counts stay
// exact. With hot standby on both, the first follows the partitions the
// second holds on the stores it was active on: every partition is built
// once, and no table record is read twice.
func TestRebalancesKeepStores(t *testing.T) {
	t.Run("leveldb", func(t *testing.T) { rebalancesKeepStores(t, false) })
	t.Run("leveldb, hot standby", func(t *testing.T) { rebalancesKeepStores(t, true) })
}

func rebalancesKeepStores(t *testing.T, standby bool) {
	start := time.Now()
	const partitions, keys, rounds = 4, 20, 10
	c := newCluster(t)
	group := systemtest.UniqueName(t, "group")
	input := systemtest.UniqueName(t, "input")
	table := string(tableOf(group))
	c.createStream(input, partitions)
	c.deleteLater(table)
	graph := func() *goka.GroupGraph {
		return systemtest.CounterGraph(goka.Group(group), goka.Stream(input), nil)
	}

	l := startLoad(t, c.brokers, input, keys, 2, 10*time.Millisecond)
	builds := &countedBuilds{inner: storage.DefaultBuilder(t.TempDir()), n: make(map[string]int)}
	// Members sorted by ID get ranges of the sorted partitions: the first
	// keeps 0 and 1 in every split.
	var opts []goka.ProcessorOption
	if standby {
		opts = append(opts, goka.WithHotStandby())
	}
	first := startPeer(t, c, "first", graph(), builds.builder(), append(opts, goka.WithClientID("a-first"))...)
	l.waitMore(t, 100)
	secondDir := t.TempDir()
	var joins, leaves time.Duration
	moved := []int32{2, 3}
	var movedReads, fullReads int64
	secondWrote := make(map[int32]uint)
	for i := range rounds {
		before := c.mustNewest(table, partitions)
		at := time.Now()
		second := startPeer(t, c, fmt.Sprintf("second %d", i), graph(), storage.DefaultBuilder(secondDir),
			append(opts, goka.WithClientID("b-second"))...)
		first.waitHolds(t, 0, 1)
		second.waitHolds(t, moved...)
		joins += time.Since(at)
		// The second writes rows of both its partitions before it leaves,
		// so the first gets them back with rows it did not write.
		var wrote map[int32]uint
		waitFor(t, consumeDeadline, "the second to write both its partitions", func() (bool, string) {
			stats := second.proc.Stats().Group
			wrote = make(map[int32]uint)
			for _, p := range moved {
				s := stats[p]
				if s == nil || s.TableStats == nil || s.TableStats.Writes.Count == 0 {
					return false, fmt.Sprintf("partition %d: no table write yet", p)
				}
				wrote[p] = s.TableStats.Writes.Count
			}
			return true, ""
		})
		at = time.Now()
		second.stop(t)
		first.waitHolds(t, 0, 1, 2, 3)
		leaves += time.Since(at)
		// A partition that comes back reads what the second wrote, and
		// nothing the first had written before it left; with hot standby
		// it followed the second's writes on the store it kept, and has
		// read no table record twice since it was built.
		stats := first.proc.Stats().Group
		for _, p := range moved {
			require.NotNil(t, stats[p])
			require.NotNil(t, stats[p].TableStats)
			read, hwm := stats[p].TableStats.Input.Count, stats[p].TableStats.Recovery.Hwm
			if standby {
				secondWrote[p] += wrote[p]
				assert.GreaterOrEqual(t, read, secondWrote[p], "round %d: partition %d came back without the second's rows", i, p)
				assert.LessOrEqual(t, int64(read), hwm, "round %d: partition %d read table records twice", i, p)
				continue
			}
			assert.GreaterOrEqual(t, read, wrote[p], "round %d: partition %d came back without the second's rows", i, p)
			assert.LessOrEqual(t, int64(read), hwm-before[p],
				"round %d: partition %d came back reading rows the first had written before it left (table from %d to %d)", i, p, before[p], hwm)
			movedReads += int64(read)
			fullReads += hwm
		}
	}
	want, failed := l.finish(t)
	require.Empty(t, failed, "sends failed")
	c.waitConsumed(group, input, partitions, first.run)
	waitFor(t, consumeDeadline, "exact counts", func() (bool, string) {
		for key, n := range want {
			v, err := first.proc.Get(key)
			if err != nil {
				return false, err.Error()
			}
			if got, _ := v.(int64); got != n {
				return false, fmt.Sprintf("%s: %v, want %d", key, v, n)
			}
		}
		return true, ""
	})

	stayed, count := first.sessions.heldThroughout()
	require.Equal(t, []int32{0, 1}, stayed, "the first range never left the first instance")
	stats := first.proc.Stats().Group
	for _, p := range stayed {
		assert.Equal(t, 1, builds.count(table, p), "partition %d built once", p)
		require.NotNil(t, stats[p])
		require.NotNil(t, stats[p].TableStats)
		assert.Zero(t, stats[p].TableStats.Input.Count, "partition %d restored nothing", p)
	}
	if standby {
		for _, p := range moved {
			assert.Equal(t, 1, builds.count(table, p), "partition %d built once: kept warm while away", p)
			movedReads += int64(stats[p].TableStats.Input.Count)
			fullReads += stats[p].TableStats.Recovery.Hwm
		}
	}
	first.stop(t)
	compareCounts(readTable(t, c.brokers, tableOf(group)), want).requireExact(t)
	var total int64
	for _, n := range want {
		total += n
	}
	reads := fmt.Sprintf("the partitions that came back read %d table records (restoring them whole would have read %d)", movedReads, fullReads)
	if standby {
		reads = fmt.Sprintf("the partitions kept warm read %d of the %d records of their tables", movedReads, fullReads)
	}
	t.Logf("summary: %d rebalances (%d sessions of the first) under load, %d messages counted exactly; %s; "+
		"mean join %s, mean leave %s; whole test %s", 2*rounds, count, total, reads,
		(joins / rounds).Round(time.Millisecond), (leaves / rounds).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
