package engine

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTxnProducer records the transaction calls.
type fakeTxnProducer struct {
	mu        sync.Mutex
	calls     []string
	offsets   map[string][]*sarama.PartitionOffsetMetadata
	meta      *sarama.ConsumerGroupMetadata
	commitErr error
}

func (f *fakeTxnProducer) record(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}
func (f *fakeTxnProducer) BeginTxn() error { f.record("begin"); return nil }
func (f *fakeTxnProducer) CommitTxn() error {
	f.record("commit")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commitErr
}
func (f *fakeTxnProducer) AbortTxn() error { f.record("abort"); return nil }
func (f *fakeTxnProducer) AddOffsetsToTxnWithGroupMetadata(o map[string][]*sarama.PartitionOffsetMetadata, m *sarama.ConsumerGroupMetadata) error {
	f.record("offsets")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offsets, f.meta = o, m
	return nil
}
func (f *fakeTxnProducer) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

type nopLog struct{}

func (nopLog) Printf(string, ...any) {}

func newTestTransactor(f *fakeTxnProducer, failed *[]error) *Transactor {
	var mu sync.Mutex
	return NewTransactor(f, "group", "", time.Hour, nopLog{}, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		*failed = append(*failed, err)
	})
}

func TestTransactorCommitsOffsetsWithTheWritesOfTheirMessages(t *testing.T) {
	f := &fakeTxnProducer{}
	var failed []error
	tx := newTestTransactor(f, &failed)
	require.NoError(t, tx.Commit(time.Now().Add(time.Second)), "nothing open: nothing to commit")
	assert.Empty(t, f.Calls())

	require.NoError(t, tx.enter())
	tx.consumed("in", 1, 11)
	tx.consumed("in", 1, 12)
	tx.consumed("in", 0, 5)
	tx.leave()
	require.NoError(t, tx.Commit(time.Now().Add(time.Second)))
	assert.Equal(t, []string{"begin", "offsets", "commit"}, f.Calls())
	assert.Equal(t, map[string][]*sarama.PartitionOffsetMetadata{"in": {{Partition: 0, Offset: 5}, {Partition: 1, Offset: 12}}}, f.offsets)
	assert.Equal(t, "group", f.meta.GroupID)
	assert.Equal(t, int64(1), tx.Commits())
	assert.Empty(t, failed)
}

func TestTransactorCommitWaitsForTheRunningCallback(t *testing.T) {
	f := &fakeTxnProducer{}
	var failed []error
	tx := newTestTransactor(f, &failed)
	require.NoError(t, tx.enter())
	committed := make(chan error, 1)
	go func() { committed <- tx.Commit(time.Now().Add(10 * time.Second)) }()
	select {
	case <-committed:
		t.Fatal("committed while a callback ran")
	case <-time.After(50 * time.Millisecond):
	}
	tx.consumed("in", 0, 1)
	tx.leave()
	select {
	case err := <-committed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the commit did not follow the callback's end")
	}
	assert.Equal(t, []string{"begin", "offsets", "commit"}, f.Calls())
}

func TestTransactorPeriodicCommitLeavesASlowCallbackToTheNextTick(t *testing.T) {
	f := &fakeTxnProducer{}
	var failed []error
	tx := newTestTransactor(f, &failed)
	require.NoError(t, tx.enter())
	ok, err := tx.commit(time.Now().Add(20*time.Millisecond), false)
	require.NoError(t, err)
	assert.False(t, ok)
	tx.leave()
	require.NoError(t, tx.enter(), "the gate is open again")
	tx.leave()
	assert.Equal(t, []string{"begin"}, f.Calls(), "neither committed nor aborted")
	assert.Empty(t, failed)

	// At a stop the commit must happen: a callback past the deadline aborts.
	require.NoError(t, tx.enter())
	err = tx.Commit(time.Now().Add(20 * time.Millisecond))
	require.ErrorIs(t, err, ErrTxnAborted)
	tx.leave()
	assert.Equal(t, []string{"begin", "abort"}, f.Calls())
	require.Len(t, failed, 1)
}

func TestTransactorAbortsAPoisonedTransaction(t *testing.T) {
	f := &fakeTxnProducer{}
	var failed []error
	tx := newTestTransactor(f, &failed)
	require.NoError(t, tx.enter())
	tx.consumed("in", 0, 1)
	tx.leave()
	cause := errors.New("callback failed")
	err := tx.Poison(cause)
	require.ErrorIs(t, err, ErrTxnAborted)
	require.ErrorIs(t, err, cause)
	err = tx.Commit(time.Now().Add(time.Second))
	require.ErrorIs(t, err, cause)
	assert.Equal(t, []string{"begin", "abort"}, f.Calls(), "no offsets, no commit")
	require.ErrorIs(t, tx.enter(), ErrTxnAborted, "nothing begins after an abort")
	require.Len(t, failed, 1)
}

func TestTransactorAbortsWhenTheCommitIsRefused(t *testing.T) {
	f := &fakeTxnProducer{commitErr: sarama.ErrUnknownMemberId}
	var failed []error
	tx := newTestTransactor(f, &failed)
	require.NoError(t, tx.enter())
	tx.consumed("in", 3, 9)
	tx.leave()
	err := tx.Commit(time.Now().Add(time.Second))
	require.ErrorIs(t, err, ErrTxnAborted)
	require.ErrorIs(t, err, sarama.ErrUnknownMemberId)
	assert.Contains(t, err.Error(), "in/3@9", "the error names the offsets")
	assert.Equal(t, []string{"begin", "offsets", "commit", "abort"}, f.Calls())
	require.Len(t, failed, 1)
}

// generationSession is a consumer group session whose generation a test
// moves on, as sarama does within one session at a cooperative rebalance.
type generationSession struct {
	sarama.ConsumerGroupSession
	generation atomic.Int32
}

func (s *generationSession) GenerationID() int32 { return s.generation.Load() }
func (s *generationSession) MemberID() string    { return "member-1" }

// TestTransactorCommitsWithTheSessionsCurrentGeneration: the offsets of a
// transaction carry the generation of the commit's moment, not of the
// session's start; a generation read once would have every commit after a
// cooperative rebalance refused.
func TestTransactorCommitsWithTheSessionsCurrentGeneration(t *testing.T) {
	f := &fakeTxnProducer{}
	var failed []error
	tx := newTestTransactor(f, &failed)
	session := &generationSession{}
	session.generation.Store(4)
	tx.SetSession(session)
	commit := func() {
		require.NoError(t, tx.enter())
		tx.consumed("in", 0, 1)
		tx.leave()
		require.NoError(t, tx.Commit(time.Now().Add(time.Second)))
	}
	commit()
	assert.Equal(t, int32(4), f.meta.GenerationID)
	assert.Equal(t, "member-1", f.meta.MemberID)
	session.generation.Store(5)
	commit()
	assert.Equal(t, int32(5), f.meta.GenerationID)
	assert.Empty(t, failed)
}
