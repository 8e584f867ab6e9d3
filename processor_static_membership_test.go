package goka

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithGroupInstanceIDRefusesWhatKafkaRefuses(t *testing.T) {
	t.Parallel()
	for name, id := range map[string]string{
		"empty":       "",
		"dot":         ".",
		"dot dot":     "..",
		"too long":    strings.Repeat("a", 250),
		"space":       "pod 0",
		"slash":       "pods/0",
		"colon":       "pod:0",
		"non-ASCII":   "pöd-0",
		"nul":         "pod\x000",
		"leading ws":  " pod-0",
		"newline end": "pod-0\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := NewProcessor(nil, countingGraph(), WithGroupInstanceID(id))
			require.ErrorIs(t, err, errGroupInstanceID)
			assert.Contains(t, err.Error(), "WithGroupInstanceID")
			assert.Contains(t, err.Error(), `processor "counter"`)
		})
	}
}

func TestWithGroupInstanceIDAcceptsWhatKafkaAccepts(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a", "pod-0", "counter_7.eu-west-1", "...", strings.Repeat("Z9", 124) + "x"} {
		o := new(poptions)
		require.NoError(t, o.applyOptions(countingGraph(), WithGroupInstanceID(id)), "id %q", id)
		assert.True(t, o.staticMember)
		assert.Equal(t, id, o.groupInstanceID)
	}
	o := new(poptions)
	require.NoError(t, o.applyOptions(countingGraph()))
	assert.False(t, o.staticMember, "no option, no static membership")
}

// TestWithGroupInstanceIDNeedsVersion: the default builder builds from the
// global configuration, whose version NewProcessor checks.
func TestWithGroupInstanceIDNeedsVersion(t *testing.T) {
	saved := globalConfig()
	defer ReplaceGlobalConfig(saved)
	config := DefaultConfig()
	config.Version = sarama.V2_2_0_0
	ReplaceGlobalConfig(config)

	_, err := NewProcessor(nil, countingGraph(), WithGroupInstanceID("pod-0"))
	require.ErrorIs(t, err, errGroupInstanceID)
	assert.Contains(t, err.Error(), "WithGroupInstanceID")
	assert.Contains(t, err.Error(), "sarama.V2_3_0_0")
	assert.Contains(t, err.Error(), "2.2.0")

	// Without the option the old version is the caller's choice.
	o := new(poptions)
	require.NoError(t, o.applyOptions(countingGraph()))
}

// TestWithGroupInstanceIDNeedsVersionOfTheBuildersConfig: a builder's own
// configuration is checked when Run builds the consumer group, before it
// joins.
func TestWithGroupInstanceIDNeedsVersionOfTheBuildersConfig(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)
	old := copyConfig(env.config)
	old.Version = sarama.V2_2_0_0
	proc := env.processor(countingGraph(), storage.MemoryBuilder(),
		WithConsumerGroupBuilder(ConsumerGroupBuilderWithConfig(old)), WithGroupInstanceID("pod-0"))
	err := env.start(proc).wait(t)
	require.ErrorIs(t, err, errGroupInstanceID)
	assert.Contains(t, err.Error(), `WithGroupInstanceID("pod-0")`)
	assert.Contains(t, err.Error(), "sarama.V2_3_0_0")
}

// TestWithGroupInstanceIDReachesTheGroup: the broker lists the member under
// the instance id, with ConsumerGroupBuilderWithConfig and with a builder of
// the caller's that calls it.
func TestWithGroupInstanceIDReachesTheGroup(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)
	wrapped := func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		return ConsumerGroupBuilderWithConfig(env.config)(brokers, group, clientID)
	}
	for name, builder := range map[string]ConsumerGroupBuilder{
		"with config": ConsumerGroupBuilderWithConfig(env.config),
		"wrapped":     wrapped,
	} {
		t.Run(name, func(t *testing.T) {
			gg := DefineGroup(Group("static-"+strings.ReplaceAll(name, " ", "-")), Input("clicks", new(codec.String), counter), Persist(new(codec.Int64)))
			proc := env.processor(gg, storage.MemoryBuilder(), WithConsumerGroupBuilder(builder), WithGroupInstanceID("pod-7"))
			r := env.startReady(proc)
			assert.Equal(t, []string{"pod-7"}, groupInstanceIDs(t, env, string(gg.Group())))
			require.NoError(t, r.stop(t))
		})
	}
}

// TestWithGroupInstanceIDWithAForeignBuilderSaysSo: a builder that builds
// from a configuration of its own cannot be given the id; Run says so and
// the processor runs as a dynamic member.
func TestWithGroupInstanceIDWithAForeignBuilderSaysSo(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)
	own := func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		c := copyConfig(env.config)
		c.ClientID = clientID
		return sarama.NewConsumerGroup(brokers, group, c)
	}
	log := &recordLog{}
	proc := env.processor(countingGraph(), storage.MemoryBuilder(),
		WithConsumerGroupBuilder(own), WithGroupInstanceID("pod-0"), WithLogger(log))
	r := env.startReady(proc)
	assert.Equal(t, []string{""}, groupInstanceIDs(t, env, "counter"), "a dynamic member")
	assert.True(t, log.has(`WithGroupInstanceID("pod-0") has no effect`), "log: %v", log.all())
	require.NoError(t, r.stop(t))
}

// TestStaticMemberRestartsWithoutRebalance: on the embedded broker, a
// static member stopped and started again takes its partitions back while
// the other member's session goes on; each of the two is restarted in turn,
// so the group leader is among them. The control, dynamic members, shows
// that the test sees a rebalance when there is one.
func TestStaticMemberRestartsWithoutRebalance(t *testing.T) {
	t.Parallel()
	for _, static := range []bool{true, false} {
		t.Run(map[bool]string{true: "static", false: "dynamic"}[static], func(t *testing.T) {
			t.Parallel()
			env := newProcEnv(t)
			const partitions, keys = 4, 40
			env.createTopic("clicks", partitions)
			start := func(name string) *member {
				m := &member{name: name}
				opts := []ProcessorOption{WithRebalanceCallback(m.rebalanced)}
				if static {
					opts = append(opts, WithGroupInstanceID(name))
				}
				m.proc = env.processor(countingGraph(), storage.MemoryBuilder(), opts...)
				m.run = env.start(m.proc)
				return m
			}
			a, b := start("a"), start("b")
			waitShared(t, partitions, a, b)
			env.emitCounts("clicks", keys, 1, "click")
			eventually(t, "first batch counted", func() bool { return countsAcross(uniformCounts(keys, 1), a.proc, b.proc) })

			want := int64(1)
			for _, name := range []string{"a", "b"} {
				restarted, other := a, b
				if name == "b" {
					restarted, other = b, a
				}
				before, otherSessions, otherAssigned := restarted.assigned(), other.sessions(), other.assigned()
				require.NoError(t, restarted.run.stop(t))
				again := start(name)
				waitShared(t, partitions, again, other)
				env.emitCounts("clicks", keys, 1, "click")
				want++
				eventually(t, "counted after the restart of "+name, func() bool { return countsAcross(uniformCounts(keys, want), again.proc, other.proc) })

				if static {
					assert.Equal(t, otherSessions, other.sessions(), "%s's session went on through %s's restart", other.name, name)
					assert.Equal(t, otherAssigned, other.assigned())
					assert.Equal(t, before, again.assigned(), "%s got its partitions back", name)
					assert.Equal(t, 1, again.sessions())
				} else {
					assert.Greater(t, other.sessions(), otherSessions, "%s rebalanced when %s left and came back", other.name, name)
				}
				if name == "a" {
					a = again
				} else {
					b = again
				}
			}
			require.NoError(t, a.run.stop(t))
			require.NoError(t, b.run.stop(t))
		})
	}
}

// member is a processor of TestStaticMemberRestartsWithoutRebalance and the
// sessions it saw.
type member struct {
	name string
	proc *Processor
	run  *running

	mu   sync.Mutex
	n    int
	last []int32
}

func (m *member) rebalanced(a Assignment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	m.last = m.last[:0]
	for p := range a {
		m.last = append(m.last, p)
	}
	slices.Sort(m.last)
}

func (m *member) sessions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

func (m *member) assigned() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.last)
}

// waitShared waits until the members' last sessions hold every partition
// between them, each at least one and none twice, all of them running.
func waitShared(t *testing.T, partitions int, members ...*member) {
	t.Helper()
	eventually(t, "the partitions shared", func() bool {
		seen := map[int32]bool{}
		for _, m := range members {
			if m.proc.state.State() != ProcStateRunning {
				return false
			}
			got := m.assigned()
			if len(got) == 0 {
				return false
			}
			for _, p := range got {
				if seen[p] {
					return false
				}
				seen[p] = true
			}
		}
		return len(seen) == partitions
	})
}

// groupInstanceIDs lists the instance ids of the group's members as the
// broker describes them, "" for a dynamic member.
func groupInstanceIDs(t *testing.T, env *procEnv, group string) []string {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(env.brokers, env.config)
	require.NoError(t, err)
	defer func() { require.NoError(t, admin.Close()) }()
	groups, err := admin.DescribeConsumerGroups([]string{group})
	require.NoError(t, err)
	require.Len(t, groups, 1)
	var ids []string
	for _, m := range groups[0].Members {
		id := ""
		if m.GroupInstanceId != nil {
			id = *m.GroupInstanceId
		}
		ids = append(ids, id)
	}
	return ids
}

// recordLog keeps every line logged.
type recordLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *recordLog) Print(v ...interface{})   { l.add(fmt.Sprint(v...)) }
func (l *recordLog) Println(v ...interface{}) { l.add(fmt.Sprintln(v...)) }
func (l *recordLog) Printf(format string, v ...interface{}) {
	l.add(fmt.Sprintf(format, v...))
}

func (l *recordLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *recordLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

func (l *recordLog) has(s string) bool {
	return slices.ContainsFunc(l.all(), func(line string) bool { return strings.Contains(line, s) })
}

// TestStaticMembersWithOneIDFenceTheFirst: a second instance with an id in
// use takes the id over; the first is fenced, and its Run ends with the
// broker's FENCED_INSTANCE_ID once the group retries give up, while the
// second runs on with every partition.
func TestStaticMembersWithOneIDFenceTheFirst(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("clicks", 2)
	first := env.processor(countingGraph(), storage.MemoryBuilder(), WithGroupInstanceID("pod-0"), groupRetryTimeout(time.Second))
	r1 := env.startReady(first)
	second := env.processor(countingGraph(), storage.MemoryBuilder(), WithGroupInstanceID("pod-0"), groupRetryTimeout(time.Second))
	r2 := env.startReady(second)

	err := r1.wait(t)
	require.ErrorIs(t, err, sarama.ErrFencedInstancedId)
	t.Logf("the first instance's Run: %v", err)
	env.emitCounts("clicks", 10, 1, "click")
	eventually(t, "the second counts", func() bool { return hasCounts(second, uniformCounts(10, 1)) })
	require.NoError(t, r2.stop(t))
}
