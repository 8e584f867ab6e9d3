package engine

import (
	"context"
	"fmt"
	"slices"
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

// coopSession is a session whose claims a cooperative rebalance changes.
type coopSession struct {
	sessionRecorder
	claimsMu sync.Mutex
	commits  int
}

func newCoopSession(ctx context.Context, claims map[string][]int32) *coopSession {
	return &coopSession{sessionRecorder: sessionRecorder{ctx: ctx, claims: claims, marked: make(map[TopicPartition]int64)}}
}

func (s *coopSession) Claims() map[string][]int32 {
	s.claimsMu.Lock()
	defer s.claimsMu.Unlock()
	return s.claims
}

func (s *coopSession) setClaims(claims map[string][]int32) {
	s.claimsMu.Lock()
	defer s.claimsMu.Unlock()
	s.claims = claims
}

func (s *coopSession) Commit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed = true
	s.commits++
}

func (s *coopSession) commitCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commits
}

// coopRig runs a group of one input topic "in" (and, stateful, a table)
// through a cooperative session, as sarama drives it: ConsumeClaim per
// claim, and a revoked claim's Messages channel closed while the session
// goes on.
type coopRig struct {
	t       *testing.T
	g       *Group
	state   *signal.Signal
	session *coopSession
	cancel  context.CancelFunc
	written *keyedProducer

	mu        sync.Mutex
	handled   map[int32][]int64 // offsets each partition processed
	assigned  [][]int32         // what the rebalance callback heard
	consumers sync.WaitGroup
	claims    map[int32]*claimOf
	returned  map[int32]chan error
}

func newCoopRig(t *testing.T, stateful, hotStandby bool, claims []int32) *coopRig {
	rig := &coopRig{t: t, written: &keyedProducer{next: make(map[int32]int64)}, handled: make(map[int32][]int64), claims: make(map[int32]*claimOf), returned: make(map[int32]chan error)}
	cfg := &Config{
		Plan: &Plan{
			Group: "coop",
			Routes: map[string]Route{"in": {
				Decode: func(data []byte) (any, error) { return string(data), nil },
				Handle: func(m *Message, value any) {
					if stateful {
						m.WriteTable([]byte(value.(string)), nil)
					}
					rig.mu.Lock()
					rig.handled[m.Partition()] = append(rig.handled[m.Partition()], m.Offset())
					rig.mu.Unlock()
				},
			}},
			Inputs:     []string{"in"},
			Subscribed: []string{"in"},
		},
		Producer:      rig.written,
		Log:           testLogger{t},
		PartitionLog:  func(int32) Logger { return testLogger{t} },
		StopTimeout:   time.Second,
		OnFail:        func(err error) { t.Errorf("failed: %v", err) },
		NumPartitions: 3,
		HotStandby:    hotStandby,
		Backoff:       func() (Backoff, error) { return NewLinearBackoff(time.Millisecond, 10*time.Millisecond), nil },
		Rebalanced: func(assigned []int32) error {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			rig.assigned = append(rig.assigned, slices.Clone(assigned))
			return nil
		},
	}
	if stateful {
		cfg.Plan.Table = "coop-table"
	}
	build := storage.MemoryBuilder()
	cfg.Stores = stores.New(func(topic string, partition int32) *table.Partition {
		return table.New(table.Config{Topic: topic, Partition: partition, Builder: build,
			Consumer: idleConsumer{}, Offsets: rig.written, Logf: t.Logf})
	})
	t.Cleanup(func() { assert.NoError(t, cfg.Stores.Close()) })
	rig.state = signal.New(ProcIdle, ProcStarting, ProcSetup, ProcRunning, ProcStopping, ProcStopped)
	rig.g = NewGroup(cfg, rig.state)
	ctx, cancel := context.WithCancel(context.Background())
	rig.cancel = cancel
	rig.session = newCoopSession(ctx, map[string][]int32{"in": claims})
	require.NoError(t, rig.g.Setup(rig.session))
	for _, n := range claims {
		rig.consume(n)
	}
	return rig
}

// consume starts the claim of partition n, as sarama does for a new claim.
func (r *coopRig) consume(n int32) {
	c := &claimOf{topic: "in", partition: n, msgs: make(chan *sarama.ConsumerMessage)}
	done := make(chan error, 1)
	r.claims[n] = c
	r.returned[n] = done
	r.consumers.Add(1)
	go func() {
		defer r.consumers.Done()
		done <- r.g.ConsumeClaim(r.session, c)
	}()
}

// send hands one message to partition n's claim.
func (r *coopRig) send(n int32, offset int64) {
	select {
	case r.claims[n].msgs <- &sarama.ConsumerMessage{Topic: "in", Partition: n, Offset: offset, Key: []byte(fmt.Sprint("k", n)), Value: []byte(fmt.Sprint(offset))}:
	case <-time.After(10 * time.Second):
		r.t.Fatalf("partition %d does not take its messages", n)
	}
}

// revoke closes partition n's claim and waits for its ConsumeClaim, as
// sarama does before it lets the partition go.
func (r *coopRig) revoke(n int32) {
	close(r.claims[n].msgs)
	require.NoError(r.t, receive(r.t, r.returned[n]))
}

func (r *coopRig) processed(n int32) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.handled[n])
}

func (r *coopRig) rebalances() [][]int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.assigned)
}

// end ends the session as sarama does: the context, the claims, Cleanup.
func (r *coopRig) end() {
	r.cancel()
	r.consumers.Wait()
	require.NoError(r.t, r.g.Cleanup(r.session))
}

// TestGroupCooperativeRebalanceStopsOnlyWhatMoves drives a session through
// two incremental changes: partition 1 revoked, partition 2 added. The
// revoked partition stops and is committed before its ConsumeClaim returns;
// the added one starts without a new session; partition 0 is neither
// stopped nor restarted, and the processor stays Running. The handler used
// to refuse the added claim ("no partition processor for claimed
// partition") and to leave the revoked partition running until Cleanup.
func TestGroupCooperativeRebalanceStopsOnlyWhatMoves(t *testing.T) {
	t.Parallel()
	rig := newCoopRig(t, false, false, []int32{0, 1})
	eventually(t, "the processor running", func() bool { return rig.state.State() == ProcRunning })
	p0, ok := rig.g.Partition(0)
	require.True(t, ok)
	rig.send(0, 0)
	rig.send(1, 0)
	rig.send(1, 1)
	eventually(t, "partition 1 marked", func() bool { return rig.session.markedAt("in", 1) == 2 })

	rig.revoke(1)
	_, held := rig.g.Partition(1)
	assert.False(t, held, "the revoked partition left the group's partitions")
	assert.Equal(t, 1, rig.session.commitCount(), "the revoked partition's offsets were committed before ConsumeClaim returned")
	assert.Equal(t, int64(2), rig.session.markedAt("in", 1))

	rig.session.setClaims(map[string][]int32{"in": {0, 2}})
	rig.consume(2)
	rig.send(2, 5)
	rig.send(0, 1)
	eventually(t, "partition 2 processed", func() bool { return len(rig.processed(2)) == 1 })
	eventually(t, "partition 0 processed", func() bool { return len(rig.processed(0)) == 2 })

	same, ok := rig.g.Partition(0)
	require.True(t, ok)
	assert.Same(t, p0, same, "partition 0 was not restarted")
	assert.Equal(t, PartRunning, p0.State().State())
	assert.Equal(t, ProcRunning, rig.state.State(), "the processor stays Running through incremental changes")
	assert.Equal(t, [][]int32{{0, 1}, {0}, {0, 2}}, rig.rebalances())

	rig.end()
	assert.Equal(t, ProcStopped, rig.state.State())
	assert.Equal(t, int64(2), rig.session.markedAt("in", 0))
	assert.Equal(t, int64(6), rig.session.markedAt("in", 2))
}

// TestGroupCooperativeHotStandbyHandsOver runs a stateful group with hot
// standby: an added partition takes its tables over from its standby, and a
// revoked one becomes a standby again, following its table, while the
// partition that stays runs on.
func TestGroupCooperativeHotStandbyHandsOver(t *testing.T) {
	t.Parallel()
	rig := newCoopRig(t, true, true, []int32{0})
	eventually(t, "the processor running", func() bool { return rig.state.State() == ProcRunning })
	p0, _ := rig.g.Partition(0)
	standby, ok := rig.g.Partition(1)
	require.True(t, ok)
	require.Equal(t, RolePassive, standby.Role())

	rig.session.setClaims(map[string][]int32{"in": {0, 1}})
	rig.consume(1)
	rig.send(1, 0)
	eventually(t, "partition 1 processed", func() bool { return len(rig.processed(1)) == 1 })
	active, _ := rig.g.Partition(1)
	assert.Equal(t, RoleActive, active.Role())
	assert.Equal(t, PartStopped, standby.State().State(), "the standby stopped before the active partition opened its tables")

	rig.send(0, 0)
	rig.revoke(0)
	assert.Equal(t, int64(1), rig.session.markedAt("in", 0))
	eventually(t, "partition 0 on standby", func() bool {
		p, ok := rig.g.Partition(0)
		return ok && p.Role() == RolePassive && p.Recovered()
	})
	assert.Equal(t, PartStopped, p0.State().State())
	// The table kept what the active partition wrote.
	p, _ := rig.g.Partition(0)
	v, err := p.TableRows().Get("k0")
	require.NoError(t, err)
	assert.Equal(t, "0", string(v))

	rig.send(1, 1)
	eventually(t, "partition 1 processed on", func() bool { return len(rig.processed(1)) == 2 })
	assert.Equal(t, [][]int32{{0}, {0, 1}, {1}}, rig.rebalances())
	rig.end()
}

// TestGroupCooperativeReleasesTheTablesOfARevokedPartition: without hot
// standby, a revoked partition's tables are closed at once, not at the next
// session (there may be none for a long time).
func TestGroupCooperativeReleasesTheTablesOfARevokedPartition(t *testing.T) {
	t.Parallel()
	rig := newCoopRig(t, true, false, []int32{0, 1})
	eventually(t, "the processor running", func() bool { return rig.state.State() == ProcRunning })
	assert.Equal(t, []int32{0, 1}, rig.g.cfg.Stores.Held())
	rig.revoke(1)
	assert.Equal(t, []int32{0}, rig.g.cfg.Stores.Held())
	rig.end()
}

// idleConsumer gives partition consumers that deliver nothing until closed.
type idleConsumer struct{}

func (idleConsumer) ConsumePartition(string, int32, int64) (sarama.PartitionConsumer, error) {
	return &idlePartitionConsumer{msgs: make(chan *sarama.ConsumerMessage), errs: make(chan *sarama.ConsumerError)}, nil
}

// keyedProducer acknowledges every record in the partition its key "k<n>"
// names, and is the topics' high-water marks: a table holds what it wrote.
type keyedProducer struct {
	mu   sync.Mutex
	next map[int32]int64
}

func (p *keyedProducer) Send(topic, key string, _ []byte, _ map[string][]byte, done func(*sarama.ProducerMessage, error)) {
	partition := int32(key[1] - '0')
	p.mu.Lock()
	offset := p.next[partition]
	p.next[partition]++
	p.mu.Unlock()
	done(&sarama.ProducerMessage{Topic: topic, Partition: partition, Offset: offset}, nil)
}

func (p *keyedProducer) GetOffset(_ string, partition int32, at int64) (int64, error) {
	if at == sarama.OffsetOldest {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next[partition], nil
}
