package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/signal"
	"github.com/seed-b2c684ed/goka/internal/stores"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCopartitionedClaims(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims map[string][]int32
		want   []int32
		err    string
	}{
		{name: "none", claims: map[string][]int32{}, want: nil},
		{name: "one topic, sorted", claims: map[string][]int32{"a": {2, 0}}, want: []int32{0, 2}},
		{name: "equal", claims: map[string][]int32{"a": {1, 0}, "b": {0, 1}}, want: []int32{0, 1}},
		{name: "unequal", claims: map[string][]int32{"a": {0, 1}, "b": {0}}, err: "topic a has partitions [0 1], topic b has [0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := copartitionedClaims(tc.claims)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// sessionRecorder is a consumer group session that records the offsets
// marked and whether it was committed.
type sessionRecorder struct {
	sarama.ConsumerGroupSession
	ctx       context.Context
	claims    map[string][]int32
	mu        sync.Mutex
	marked    map[TopicPartition]int64
	committed bool
}

func (s *sessionRecorder) Claims() map[string][]int32 { return s.claims }
func (s *sessionRecorder) Context() context.Context   { return s.ctx }
func (s *sessionRecorder) MarkOffset(topic string, partition int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked[TopicPartition{topic, partition}] = offset
}

func (s *sessionRecorder) Commit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed = true
}

func (s *sessionRecorder) markedAt(topic string, partition int32) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marked[TopicPartition{topic, partition}]
}

// claimOf is the claim of one topic partition.
type claimOf struct {
	sarama.ConsumerGroupClaim
	topic     string
	partition int32
	msgs      chan *sarama.ConsumerMessage
}

func (c *claimOf) Topic() string                            { return c.topic }
func (c *claimOf) Partition() int32                         { return c.partition }
func (c *claimOf) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }
func (c *claimOf) HighWaterMarkOffset() int64               { return 0 }
func (c *claimOf) InitialOffset() int64                     { return 0 }

// TestGroupSession drives one session of a stateless group through the
// handler as sarama does: Setup starts a partition per claimed partition,
// ConsumeClaim hands their messages over, whose completion marks offsets,
// and Cleanup stops the partitions and commits.
func TestGroupSession(t *testing.T) {
	t.Parallel()
	var handled sync.Map
	cfg := &Config{
		Plan: &Plan{
			Group: "session",
			Routes: map[string]Route{"in": {
				Decode: func(data []byte) (any, error) { return string(data), nil },
				Handle: func(m *Message, value any) { handled.Store(m.Key(), value) },
			}},
			Inputs:     []string{"in"},
			Subscribed: []string{"in"},
		},
		Log:          testLogger{t},
		PartitionLog: func(int32) Logger { return testLogger{t} },
		StopTimeout:  time.Second,
		OnFail:       func(err error) { t.Errorf("failed: %v", err) },
		Rebalanced:   func([]int32) error { return nil },
	}
	cfg.Stores = stores.New(func(string, int32) *table.Partition { panic("a stateless group has no tables") })
	state := signal.New(ProcIdle, ProcStarting, ProcSetup, ProcRunning, ProcStopping, ProcStopped)
	g := NewGroup(cfg, state)
	session := &sessionRecorder{ctx: context.Background(), claims: map[string][]int32{"in": {1, 0}}, marked: make(map[TopicPartition]int64)}

	require.NoError(t, g.Setup(session))
	// Setup starts the partitions and returns; the processor is Running
	// once they all started.
	eventually(t, "the processor running", func() bool { return state.State() == ProcRunning })
	parts := g.Partitions()
	require.Len(t, parts, 2)
	for i, p := range parts {
		assert.Equal(t, int32(i), p.ID())
		assert.Equal(t, RoleActive, p.Role())
		assert.True(t, p.Recovered())
	}

	claims := make([]*claimOf, 2)
	var consumers sync.WaitGroup
	for partition := range claims {
		c := &claimOf{topic: "in", partition: int32(partition), msgs: make(chan *sarama.ConsumerMessage)}
		claims[partition] = c
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			assert.NoError(t, g.ConsumeClaim(session, c))
		}()
	}
	for offset := range int64(3) {
		for partition, c := range claims {
			c.msgs <- &sarama.ConsumerMessage{Topic: "in", Partition: int32(partition), Offset: offset, Key: []byte{byte('a' + partition), byte('0' + offset)}, Value: []byte("v")}
		}
	}
	for partition := range claims {
		eventually(t, "partition's offsets marked", func() bool { return session.markedAt("in", int32(partition)) == 3 })
	}
	_, ok := handled.Load("b2")
	assert.True(t, ok, "the callback saw the last message of partition 1")

	for _, c := range claims {
		close(c.msgs)
	}
	consumers.Wait()
	require.NoError(t, g.Cleanup(session))
	assert.True(t, session.committed)
	assert.Equal(t, ProcStopped, state.State())
	assert.Empty(t, g.Partitions())
	for _, p := range parts {
		assert.Equal(t, PartStopped, p.State().State())
	}
}

// A partition whose store waits for a callback the last session left behind
// does not hold up the other partitions of the session: they start and
// process, and it follows once the late callback has returned. Setup used to
// wait for every partition's start.
func TestGroupStartsBesideAPartitionWaitingForALateCallback(t *testing.T) {
	var handled sync.Map
	cfg := &Config{
		Plan: &Plan{
			Group: "late",
			Routes: map[string]Route{"in": {
				Decode: func(data []byte) (any, error) { return string(data), nil },
				Handle: func(m *Message, value any) { handled.Store(m.Key(), value) },
			}},
			Table:      "late-table",
			Inputs:     []string{"in"},
			Subscribed: []string{"in"},
		},
		Producer:     new(ackingProducer),
		Log:          testLogger{t},
		PartitionLog: func(int32) Logger { return testLogger{t} },
		StopTimeout:  time.Second,
		OnFail:       func(err error) { t.Errorf("failed: %v", err) },
		Rebalanced:   func([]int32) error { return nil },
		Backoff:      func() (Backoff, error) { return NewLinearBackoff(time.Millisecond, 10*time.Millisecond), nil },
	}
	cfg.Stores = stores.New(func(topic string, partition int32) *table.Partition {
		return table.New(table.Config{Topic: topic, Partition: partition, Builder: storage.MemoryBuilder(),
			Consumer: noConsumer{}, Offsets: emptyTopics{}, Logf: t.Logf})
	})
	t.Cleanup(func() { assert.NoError(t, cfg.Stores.Close()) })
	// Partition 0's table was given up by a stop that missed its deadline:
	// its store closes only when lateCallback is closed.
	lateCallback := make(chan struct{})
	cfg.Stores.Acquire("late-table", 0)
	cfg.Stores.Abandon("late-table", 0, lateCallback)

	state := signal.New(ProcIdle, ProcStarting, ProcSetup, ProcRunning, ProcStopping, ProcStopped)
	g := NewGroup(cfg, state)
	session := &sessionRecorder{ctx: context.Background(), claims: map[string][]int32{"in": {0, 1}}, marked: make(map[TopicPartition]int64)}
	setup := make(chan error, 1)
	go func() { setup <- g.Setup(session) }()
	select {
	case err := <-setup:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		close(lateCallback)
		t.Fatal("Setup waited for the partition whose store waits for a late callback")
	}

	claims := make([]*claimOf, 2)
	var consumers sync.WaitGroup
	for partition := range claims {
		c := &claimOf{topic: "in", partition: int32(partition), msgs: make(chan *sarama.ConsumerMessage, 1)}
		claims[partition] = c
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			assert.NoError(t, g.ConsumeClaim(session, c))
		}()
	}
	claims[1].msgs <- &sarama.ConsumerMessage{Topic: "in", Partition: 1, Offset: 0, Key: []byte("b"), Value: []byte("v")}
	claims[0].msgs <- &sarama.ConsumerMessage{Topic: "in", Partition: 0, Offset: 0, Key: []byte("a"), Value: []byte("v")}
	eventually(t, "partition 1 processed its message", func() bool { return session.markedAt("in", 1) == 1 })
	_, early := handled.Load("a")
	assert.False(t, early, "partition 0 processed before the late callback returned")
	assert.Equal(t, ProcSetup, state.State(), "the processor is Running only once every partition started")

	close(lateCallback)
	eventually(t, "partition 0 processed its message", func() bool { return session.markedAt("in", 0) == 1 })
	eventually(t, "the processor running", func() bool { return state.State() == ProcRunning })

	for _, c := range claims {
		close(c.msgs)
	}
	consumers.Wait()
	require.NoError(t, g.Cleanup(session))
}

// TestGroupMarksNoOffsetUnderExactlyOnce: under exactly-once the offsets
// commit with the transactions only; marked in the session as well,
// sarama's auto-commit would commit them before the transaction holding
// their writes (and a crash in between would lose those messages). Without
// it the session gets them.
func TestGroupMarksNoOffsetUnderExactlyOnce(t *testing.T) {
	for _, exactlyOnce := range []bool{false, true} {
		session := &sessionRecorder{ctx: context.Background(), marked: map[TopicPartition]int64{}}
		cfg := &Config{}
		if exactlyOnce {
			cfg.Txn = newTestTransactor(&fakeTxnProducer{}, new([]error))
		}
		g := &Group{cfg: cfg}
		g.marker(session, 3)("in", 42)
		want := int64(42)
		if exactlyOnce {
			want = 0
		}
		assert.Equal(t, want, session.markedAt("in", 3), "exactly once: %v", exactlyOnce)
	}
}
