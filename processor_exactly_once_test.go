package goka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eosOptions are the options of an exactly-once processor on env's broker.
func (e *procEnv) eosOptions(interval time.Duration, extra ...ProcessorOption) []ProcessorOption {
	return append([]ProcessorOption{
		WithExactlyOnce(),
		WithCommitInterval(interval),
		WithTransactionalProducerBuilder(TransactionalProducerBuilderWithConfig(e.config)),
	}, extra...)
}

// topicRecords reads every partition of topic with isolation up to a
// sentinel it writes first at each partition's end, and returns the records
// before it, sentinels left out, in partition and offset order. The
// sentinels make the end certain: a read_committed reader cannot tell
// where the records hidden from it end.
func (e *procEnv) topicRecords(topic string, partitions int32, isolation sarama.IsolationLevel) []*sarama.ConsumerMessage {
	e.t.Helper()
	config := copyConfig(e.config)
	config.Producer.Partitioner = sarama.NewManualPartitioner
	config.Consumer.IsolationLevel = isolation
	sp, err := sarama.NewSyncProducer(e.brokers, config)
	require.NoError(e.t, err)
	sentinel := func(p int32) string { return fmt.Sprintf("sentinel-%s-%d-%d", topic, p, time.Now().UnixNano()) }
	keys := make([]string, partitions)
	for p := int32(0); p < partitions; p++ {
		keys[p] = sentinel(p)
		v, _ := new(codec.Int64).Encode(int64(-1))
		_, _, err := sp.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: p, Key: sarama.StringEncoder(keys[p]), Value: sarama.ByteEncoder(v)})
		require.NoError(e.t, err)
	}
	require.NoError(e.t, sp.Close())

	consumer, err := sarama.NewConsumer(e.brokers, config)
	require.NoError(e.t, err)
	defer func() { require.NoError(e.t, consumer.Close()) }()
	var records []*sarama.ConsumerMessage
	for p := int32(0); p < partitions; p++ {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		require.NoError(e.t, err)
		timeout := time.After(30 * time.Second)
	read:
		for {
			select {
			case msg := <-pc.Messages():
				key := string(msg.Key)
				if key == keys[p] {
					break read
				}
				if !strings.HasPrefix(key, "sentinel-") {
					records = append(records, msg)
				}
			case <-timeout:
				e.t.Fatalf("reading %s/%d: the sentinel did not come", topic, p)
			}
		}
		require.NoError(e.t, pc.Close())
	}
	return records
}

// tableContent reads a counter table as topicRecords does and returns the
// last value of every key, decoded as counts.
func (e *procEnv) tableContent(topic string, partitions int32, isolation sarama.IsolationLevel) map[string]int64 {
	e.t.Helper()
	content := make(map[string]int64)
	for _, msg := range e.topicRecords(topic, partitions, isolation) {
		if msg.Value == nil {
			delete(content, string(msg.Key))
			continue
		}
		v, err := new(codec.Int64).Decode(msg.Value)
		require.NoError(e.t, err, "%s/%d offset %d", msg.Topic, msg.Partition, msg.Offset)
		content[string(msg.Key)] = v.(int64)
	}
	return content
}

// TestExactlyOnceProcessorCountsAndCommitsInTransactions: an exactly-once
// processor counts every message once, its table topic read with
// read_committed holds the counts, and its input offsets are committed
// through its transactions (not the session) up to the end.
func TestExactlyOnceProcessorCountsAndCommitsInTransactions(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys, perKey = 20, 5
	env.createTopic("clicks", 2)
	env.emitCounts("clicks", keys, perKey, "click")
	want := uniformCounts(keys, perKey)

	proc := env.processor(countingGraph(), storage.MemoryBuilder(), env.eosOptions(20*time.Millisecond)...)
	r := env.start(proc)
	eventually(t, "every key counted", func() bool { return hasCounts(proc, want) })
	eventually(t, "the offsets committed", func() bool {
		return env.committed("counter", "clicks", 0) == env.newestOffset("clicks", 0) &&
			env.committed("counter", "clicks", 1) == env.newestOffset("clicks", 1)
	})
	require.NoError(t, r.stop(t))
	assert.Equal(t, want, env.tableContent("counter-table", 2, sarama.ReadCommitted))
}

// TestExactlyOnceFailedCallbackAbortsTheTransaction: a callback that fails
// aborts the instance's open transaction: the writes the interval's other
// messages made reached the table topic, but a read_committed reader sees
// none of them, Run says the transaction was aborted, the store that
// took aborted writes stays dirty, and the restart rebuilds them and counts every message once.
func TestExactlyOnceFailedCallbackAbortsTheTransaction(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys = 10
	env.createTopic("clicks", 2)
	stores := &storeSet{stores: make(map[int32]storage.Storage)}
	var poisonFails atomic.Bool
	graph := DefineGroup("counter", Input("clicks", new(codec.String), func(ctx Context, msg any) {
		if msg.(string) == "poison" && poisonFails.Load() {
			ctx.Fail(errors.New("poisoned"))
		}
		counter(ctx, msg)
	}), Persist(new(codec.Int64)))

	// Committed: three counts per key.
	env.emitCounts("clicks", keys, 3, "click")
	proc := env.processor(graph, stores.builder, env.eosOptions(20*time.Millisecond)...)
	r := env.start(proc)
	eventually(t, "the first counts", func() bool { return hasCounts(proc, uniformCounts(keys, 3)) })
	require.NoError(t, r.stop(t))
	committed := env.tableContent("counter-table", 2, sarama.ReadCommitted)
	require.Equal(t, uniformCounts(keys, 3), committed)

	// Aborted: two more per key, then the poison, all in one interval.
	poisonFails.Store(true)
	env.emitCounts("clicks", keys, 2, "click")
	env.emitSync("clicks", new(codec.String), keyOf(0), "poison")
	proc = env.processor(graph, stores.builder, env.eosOptions(time.Hour)...)
	r = env.start(proc)
	err := r.wait(t)
	require.ErrorIs(t, err, ErrTransactionAborted)
	var me *MessageError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, keyOf(0), me.Key)

	assert.Equal(t, committed, env.tableContent("counter-table", 2, sarama.ReadCommitted), "nothing of the aborted transaction is visible")
	assert.NotEqual(t, committed, env.tableContent("counter-table", 2, sarama.ReadUncommitted), "the aborted transaction did write")
	assert.Equal(t, committed, env.viewContent("counter-table", keys, WithViewReadCommitted()), "a read_committed view")
	assert.NotEqual(t, committed, env.viewContent("counter-table", keys), "a read_uncommitted view shows the aborted writes")
	// The poison's partition wrote in the aborted transaction, so its store
	// stays dirty. The other partition may have processed nothing before Run
	// ended; if its store is clean, every row in it must be a committed one.
	dirty := 0
	for partition, st := range stores.stores {
		offset, err := st.GetOffset(0)
		require.NoError(t, err)
		if offset == int64(table.DirtyOffset) {
			dirty++
			continue
		}
		for key, n := range committed {
			raw, err := st.Get(key)
			require.NoError(t, err)
			if raw == nil {
				continue
			}
			v, err := new(codec.Int64).Decode(raw)
			require.NoError(t, err)
			assert.Equal(t, n, v, "partition %d's store is clean but holds an uncommitted count of %s", partition, key)
		}
	}
	assert.NotZero(t, dirty, "the poison's partition holds aborted writes: its store stays dirty")

	// Restart: the poison is a click now; every message counted once.
	poisonFails.Store(false)
	want := uniformCounts(keys, 5)
	want[keyOf(0)] = 6
	proc = env.processor(graph, stores.builder, env.eosOptions(20*time.Millisecond)...)
	r = env.start(proc)
	eventually(t, "the counts after the restart", func() bool { return hasCounts(proc, want) })
	require.NoError(t, r.stop(t))
	assert.Equal(t, want, env.tableContent("counter-table", 2, sarama.ReadCommitted))
}

// The crash test's child process: a counting exactly-once processor on the
// parent's embedded broker, storing its tables on disk, killed by the parent
// with SIGKILL.
const (
	crashBrokersEnv = "GOKA_EOS_CRASH_BROKERS"
	crashDirEnv     = "GOKA_EOS_CRASH_DIR"
	crashModeEnv    = "GOKA_EOS_CRASH_MODE"
	crashInstance   = "crash-1"
)

func crashProcessorOptions(config *sarama.Config, tmc *TopicManagerConfig, dir string, log Logger) []ProcessorOption {
	return []ProcessorOption{
		WithStorageBuilder(storage.DefaultBuilder(dir)),
		WithTopicManagerBuilder(TopicManagerBuilderWithConfig(config, tmc)),
		WithConsumerGroupBuilder(ConsumerGroupBuilderWithConfig(config)),
		WithConsumerSaramaBuilder(SaramaConsumerBuilderWithConfig(config)),
		WithTransactionalProducerBuilder(TransactionalProducerBuilderWithConfig(config)),
		WithExactlyOnce(),
		WithCommitInterval(20 * time.Millisecond),
		// A stable transactional id: the restart aborts at once the
		// transaction the killed instance left open.
		WithGroupInstanceID(crashInstance),
		WithLogger(log),
	}
}

// slowCounter counts, slowly enough for the kill to land mid-stream.
func slowCounter(ctx Context, msg any) {
	time.Sleep(time.Millisecond)
	counter(ctx, msg)
}

func crashGraph() *GroupGraph {
	return DefineGroup("counter", Input("clicks", new(codec.String), slowCounter), Persist(new(codec.Int64)))
}

func TestExactlyOnceCrashChild(t *testing.T) {
	brokers := os.Getenv(crashBrokersEnv)
	if brokers == "" {
		t.Skip("the child of TestExactlyOnceSIGKILLCountsEveryMessageOnce and TestExactlyOnceZombieIsFenced")
	}
	config, tmc := testBrokerConfig()
	graph, opts := crashGraph(), crashProcessorOptions(config, tmc, os.Getenv(crashDirEnv), testLogger{t})
	if os.Getenv(crashModeEnv) == "zombie" {
		graph, opts = zombieGraph(), zombieProcessorOptions(config, tmc, testLogger{t})
	}
	proc, err := NewProcessor(strings.Split(brokers, ","), graph, opts...)
	require.NoError(t, err)
	err = proc.Run(context.Background()) // until killed, or fenced
	t.Logf("Run returned: %v", err)
	require.NoError(t, err)
}

// TestExactlyOnceSIGKILLCountsEveryMessageOnce: an exactly-once processor
// killed with SIGKILL in the middle of its input, with transactions
// committed and one open, is restarted on the same disk: the restart counts
// every message exactly once (at-least-once counts those processed since
// the last commit twice), and the table topic's committed content equals
// the counts.
func TestExactlyOnceSIGKILLCountsEveryMessageOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t.Parallel()
	env := newProcEnv(t)
	const keys, perKey = 20, 60
	env.createTopic("clicks", 2)
	env.emitCounts("clicks", keys, perKey, "click")
	want := uniformCounts(keys, perKey)
	total := env.newestOffset("clicks", 0) + env.newestOffset("clicks", 1)
	dir := t.TempDir()

	var out bytes.Buffer
	child := exec.Command(os.Args[0], "-test.run=^TestExactlyOnceCrashChild$", "-test.count=1", "-test.v")
	child.Env = append(os.Environ(), crashBrokersEnv+"="+strings.Join(env.brokers, ","), crashDirEnv+"="+dir)
	child.Stdout, child.Stderr = &out, &out
	require.NoError(t, child.Start())
	killed := false
	defer func() {
		if !killed {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
		if t.Failed() {
			t.Logf("child output:\n%s", out.String())
		}
	}()
	admin, err := sarama.NewClusterAdmin(env.brokers, env.config)
	require.NoError(t, err)
	defer func() { require.NoError(t, admin.Close()) }()
	committed := func() int64 {
		resp, err := admin.ListConsumerGroupOffsets("counter", map[string][]int32{"clicks": {0, 1}})
		if err != nil {
			return 0 // the group does not exist yet
		}
		var sum int64
		for p := int32(0); p < 2; p++ {
			if b := resp.GetBlock("clicks", p); b != nil && b.Err == sarama.ErrNoError && b.Offset > 0 {
				sum += b.Offset
			}
		}
		return sum
	}
	eventually(t, "the child committed a third", func() bool { return committed() >= total/3 })
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	killed = true
	atKill := committed()
	require.Less(t, atKill, total, "killed before the end")
	t.Logf("killed with %d of %d input offsets committed", atKill, total)

	proc, err := NewProcessor(env.brokers, crashGraph(), crashProcessorOptions(env.config, env.tmConfig, dir, testLogger{t})...)
	require.NoError(t, err)
	r := env.start(proc)
	eventually(t, "the offsets committed to the end", func() bool { return committed() == total })
	for key, n := range want {
		v, err := proc.Get(key)
		require.NoError(t, err)
		require.Equal(t, n, v, "key %s counted %d times for %d messages", key, v, n)
	}
	require.NoError(t, r.stop(t))
	assert.Equal(t, want, env.tableContent("counter-table", 2, sarama.ReadCommitted))
}

// viewContent restores a view of topic and returns the counts of keys
// keys.
func (e *procEnv) viewContent(topic Table, keys int, extra ...ViewOption) map[string]int64 {
	e.t.Helper()
	v, err := NewView(e.brokers, topic, new(codec.Int64), e.viewOptions(storage.MemoryBuilder(), extra...)...)
	require.NoError(e.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(e.t, <-done)
	}()
	select {
	case <-v.WaitRunning():
	case <-time.After(30 * time.Second):
		e.t.Fatal("the view did not recover")
	}
	content := make(map[string]int64)
	for k := 0; k < keys; k++ {
		val, err := v.Get(keyOf(k))
		require.NoError(e.t, err)
		if val != nil {
			content[keyOf(k)] = val.(int64)
		}
	}
	return content
}

// zombieGraph counts in thousands, so that anything of the zombie's that
// became visible would show.
func zombieGraph() *GroupGraph {
	return DefineGroup("counter", Input("clicks", new(codec.String), func(ctx Context, msg any) {
		var n int64
		if v := ctx.Value(); v != nil {
			n = v.(int64)
		}
		ctx.SetValue(n + 1000)
	}), Persist(new(codec.Int64)))
}

// zombieProcessorOptions: a dynamic member whose transaction stays open
// (it never commits by itself), evicted soon after it stops heartbeating.
func zombieProcessorOptions(config *sarama.Config, tmc *TopicManagerConfig, log Logger) []ProcessorOption {
	config.Consumer.Group.Session.Timeout = 2 * time.Second
	config.Consumer.Group.Rebalance.Timeout = 3 * time.Second
	config.Producer.Transaction.Timeout = time.Minute
	return []ProcessorOption{
		WithStorageBuilder(storage.MemoryBuilder()),
		WithTopicManagerBuilder(TopicManagerBuilderWithConfig(config, tmc)),
		WithConsumerGroupBuilder(ConsumerGroupBuilderWithConfig(config)),
		WithConsumerSaramaBuilder(SaramaConsumerBuilderWithConfig(config)),
		WithTransactionalProducerBuilder(TransactionalProducerBuilderWithConfig(config)),
		WithExactlyOnce(),
		WithCommitInterval(time.Hour),
		WithPartitionStopTimeout(2 * time.Second),
		WithLogger(log),
	}
}

// TestExactlyOnceZombieIsFenced: an instance paused (SIGSTOP) with its
// transaction open, long enough for the group to give its partitions to
// another, then resumed, tries to commit: the broker refuses its offsets
// (its generation is gone), its transaction is aborted, nothing it wrote is
// visible to read_committed readers, and its Run returns an error saying it
// was fenced. The new owner counts every message once.
func TestExactlyOnceZombieIsFenced(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t.Parallel()
	env := newProcEnv(t)
	// A fresh broker whose groups take a 2 s session timeout.
	cluster, err := kafkatest.NewCluster(kafkatest.WithBrokerConfig("group.min.session.timeout.ms", "1000"))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	env.cluster, env.brokers = cluster, cluster.Addrs()
	const keys, perKey = 20, 10
	env.createTopic("clicks", 2)
	env.emitCounts("clicks", keys, perKey, "click")
	want := uniformCounts(keys, perKey)

	var out bytes.Buffer
	zombie := exec.Command(os.Args[0], "-test.run=^TestExactlyOnceCrashChild$", "-test.count=1", "-test.v")
	zombie.Env = append(os.Environ(), crashBrokersEnv+"="+strings.Join(env.brokers, ","), crashModeEnv+"=zombie")
	zombie.Stdout, zombie.Stderr = &out, &out
	require.NoError(t, zombie.Start())
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = zombie.Wait(); close(exited) }()
	defer func() {
		_ = zombie.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("zombie output:\n%s", out.String())
		}
	}()
	eventually(t, "the zombie's writes sent in its open transaction", func() bool {
		return env.newestOffset("counter-table", 0)+env.newestOffset("counter-table", 1) >= keys*perKey
	})
	require.NoError(t, zombie.Process.Signal(syscall.SIGSTOP))

	assigned := make(chan int, 10)
	proc := env.processor(countingGraph(), storage.MemoryBuilder(), env.eosOptions(20*time.Millisecond,
		WithRebalanceCallback(func(a Assignment) { assigned <- len(a) }))...)
	r := env.start(proc)
	for n := 0; n != 2; {
		select {
		case n = <-assigned:
		case <-time.After(30 * time.Second):
			t.Fatal("the new instance never got both partitions")
		}
	}
	require.NoError(t, zombie.Process.Signal(syscall.SIGCONT))
	select {
	case <-exited:
		require.Error(t, exitErr, "the zombie's Run failed")
	case <-time.After(30 * time.Second):
		t.Fatal("the zombie did not end")
	}
	assert.Contains(t, out.String(), ErrFenced.Error())
	assert.Contains(t, out.String(), ErrTransactionAborted.Error())

	eventually(t, "the new owner's counts", func() bool { return hasCounts(proc, want) })
	require.NoError(t, r.stop(t))
	assert.Equal(t, want, env.tableContent("counter-table", 2, sarama.ReadCommitted), "nothing of the zombie is visible")
}

// TestExactlyOnceRefusesDeferCommit: a message's offset commits in the
// transaction of its writes and cannot wait for something outside Kafka,
// so DeferCommit fails the callback with a clear error.
func TestExactlyOnceRefusesDeferCommit(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 1)
	env.emitSync("clicks", new(codec.String), "key", "click")
	graph := DefineGroup("deferrer", Input("clicks", new(codec.String), func(ctx Context, msg any) {
		ctx.DeferCommit()(nil)
	}))
	r := env.start(env.processor(graph, storage.MemoryBuilder(), env.eosOptions(20*time.Millisecond)...))
	err := r.wait(t)
	require.ErrorIs(t, err, ErrDeferCommitExactlyOnce)
	require.ErrorIs(t, err, ErrTransactionAborted)
}

// TestExactlyOnceStopDuringRetriesLeavesTheMessageUncommitted: a message
// whose retries a stop interrupts is not committed by the stop's
// transaction (its offset stays before it), while the messages before it
// are.
func TestExactlyOnceStopDuringRetriesLeavesTheMessageUncommitted(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 1)
	env.emitCounts("clicks", 3, 1, "click")
	env.emitSync("clicks", new(codec.String), "key-bad", "bad")
	bad := env.newestOffset("clicks", 0) - 1
	var failing atomic.Int64
	graph := DefineGroup("retrier", Input("clicks", new(codec.String), func(ctx Context, msg any) {
		if msg.(string) == "bad" {
			failing.Add(1)
			ctx.Fail(errors.New("bad message"))
		}
		counter(ctx, msg)
	}), Persist(new(codec.Int64)))
	proc := env.processor(graph, storage.MemoryBuilder(), env.eosOptions(20*time.Millisecond,
		WithErrorPolicy(RetryOnError(1000, 20*time.Millisecond, SkipOnError())))...)
	r := env.start(proc)
	eventually(t, "the bad message retried", func() bool { return failing.Load() >= 3 })
	require.NoError(t, r.stop(t))
	assert.Equal(t, bad, env.committed("retrier", "clicks", 0), "committed up to the bad message, not past it")
}

// TestExactlyOnceDeadLetterJoinsTheTransaction: a dead letter is written
// in the transaction that commits past its message.
func TestExactlyOnceDeadLetterJoinsTheTransaction(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 1)
	env.emitSync("clicks", new(codec.String), "key-bad", "bad")
	graph := DefineGroup("dlq", Input("clicks", new(codec.String), func(ctx Context, msg any) {
		ctx.Fail(errors.New("bad message"))
	}))
	proc := env.processor(graph, storage.MemoryBuilder(), env.eosOptions(20*time.Millisecond,
		WithErrorPolicy(DeadLetterOnError()))...)
	r := env.start(proc)
	eventually(t, "the bad message committed", func() bool { return env.committedIfAny("dlq", "clicks", 0) == 1 })
	require.NoError(t, r.stop(t))
	config := copyConfig(env.config)
	config.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer(env.brokers, config)
	require.NoError(t, err)
	defer func() { require.NoError(t, consumer.Close()) }()
	pc, err := consumer.ConsumePartition("dlq-dlq", 0, sarama.OffsetOldest)
	require.NoError(t, err)
	defer func() { require.NoError(t, pc.Close()) }()
	select {
	case msg := <-pc.Messages():
		assert.Equal(t, "key-bad", string(msg.Key))
	case <-time.After(30 * time.Second):
		t.Fatal("no committed dead letter")
	}
}

// committedIfAny is committed for a group that may not exist yet: -1 then.
func (e *procEnv) committedIfAny(group, topic string, partition int32) int64 {
	admin, err := sarama.NewClusterAdmin(e.brokers, e.config)
	require.NoError(e.t, err)
	defer func() { require.NoError(e.t, admin.Close()) }()
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {partition}})
	if err != nil {
		return -1
	}
	if b := resp.GetBlock(topic, partition); b != nil && b.Err == sarama.ErrNoError {
		return b.Offset
	}
	return -1
}

// TestExactlyOnceHotStandbyTakeover: two exactly-once instances with hot
// standby, each following with read_committed the table partitions the
// other writes; when one stops, the other takes its partitions over from
// its warm stores and every message is counted once.
func TestExactlyOnceHotStandbyTakeover(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	const keys = 20
	env.createTopic("clicks", 2)
	env.emitCounts("clicks", keys, 3, "click")
	a := env.processor(countingGraph(), storage.MemoryBuilder(), env.eosOptions(20*time.Millisecond, WithHotStandby(), WithClientID("a"))...)
	b := env.processor(countingGraph(), storage.MemoryBuilder(), env.eosOptions(20*time.Millisecond, WithHotStandby(), WithClientID("b"))...)
	ra, rb := env.start(a), env.start(b)
	eventually(t, "the offsets committed", func() bool {
		return env.committedIfAny("counter", "clicks", 0) == env.newestOffset("clicks", 0) &&
			env.committedIfAny("counter", "clicks", 1) == env.newestOffset("clicks", 1)
	})
	require.NoError(t, ra.stop(t))
	env.emitCounts("clicks", keys, 2, "click")
	want := uniformCounts(keys, 5)
	eventually(t, "b's counts after the takeover", func() bool { return hasCounts(b, want) })
	require.NoError(t, rb.stop(t))
	assert.Equal(t, want, env.tableContent("counter-table", 2, sarama.ReadCommitted))
}
