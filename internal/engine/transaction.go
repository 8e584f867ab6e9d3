package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// TxnProducer is the part of a transactional sarama producer the engine
// drives; the records themselves still go through Config.Producer, which
// must send on the same producer.
type TxnProducer interface {
	BeginTxn() error
	CommitTxn() error
	AbortTxn() error
	AddOffsetsToTxnWithGroupMetadata(offsets map[string][]*sarama.PartitionOffsetMetadata, groupMetadata *sarama.ConsumerGroupMetadata) error
}

// ErrTxnAborted marks the error of a processor whose transaction was
// aborted: nothing it wrote since its last commit is visible to
// read_committed readers, and its stores are rebuilt at the next start.
var ErrTxnAborted = errors.New("exactly-once transaction aborted")

// Transactor runs the exactly-once mode of one processor instance: one
// transaction at a time on the instance's one transactional producer, which
// carries every write of every active partition (table, emits, loopbacks)
// and the offsets of the input messages that caused them, committed
// together every commit interval (see the package doc, "Exactly once").
//
// A partition processes a message inside the gate (enter, leave); a commit
// closes the gate, so that no callback runs and no write is sent while the
// producer ends one transaction and begins the next: a message's writes and
// its offset are thus always in the same transaction.
type Transactor struct {
	prod     TxnProducer
	group    string
	instance *string // the group instance id, nil for a dynamic member
	interval time.Duration
	log      Logger
	// onFail stops the processor; a failed commit ends it.
	onFail func(error)

	// commitMu serialises commits: the periodic one and those of stopping
	// partitions.
	commitMu sync.Mutex

	mu   sync.Mutex
	cond *sync.Cond
	// active counts the partitions inside the gate; closed keeps new ones
	// out while a commit waits for them or runs.
	active int
	closed bool
	// open is set once BeginTxn ran for the current transaction.
	open bool
	// offsets are the next offsets to consume of the messages processed in
	// the current transaction.
	offsets map[string]map[int32]int64
	// session is the consumer group session whose generation and member id
	// go with the offsets, read at each commit: under the cooperative
	// protocol a rebalance changes the generation within one session.
	session sarama.ConsumerGroupSession
	// err is the first failure: no transaction commits after it.
	err error
	// commits counts the committed transactions, for tests and stats.
	commits int64
}

// NewTransactor returns the transactor of a processor of group.
// groupInstanceID is the static member's id, "" for a dynamic member.
func NewTransactor(prod TxnProducer, group, groupInstanceID string, interval time.Duration, log Logger, onFail func(error)) *Transactor {
	t := &Transactor{
		prod:     prod,
		group:    group,
		interval: interval,
		log:      log,
		onFail:   onFail,
		offsets:  make(map[string]map[int32]int64),
	}
	if groupInstanceID != "" {
		t.instance = &groupInstanceID
	}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// Commits returns the number of transactions committed.
func (t *Transactor) Commits() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.commits
}

// SetSession attaches the consumer group session whose generation and
// member id go with the offsets (KIP-447): the group coordinator refuses
// the offsets of a member that is no longer in that generation, and with
// them the transaction, which fences an instance that lost its partitions.
// Each commit reads them from the session when it adds the offsets, since
// a cooperative rebalance moves the session to the next generation (a
// generation read at Setup would fence the instance at its first commit
// after one).
func (t *Transactor) SetSession(session sarama.ConsumerGroupSession) {
	t.mu.Lock()
	t.session = session
	t.mu.Unlock()
}

// enter lets a partition process one message or visit, beginning the
// transaction if none is open. It waits while a commit runs.
func (t *Transactor) enter() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.closed {
		t.cond.Wait()
	}
	if t.err != nil {
		return t.err
	}
	if !t.open {
		if err := t.prod.BeginTxn(); err != nil {
			t.err = fmt.Errorf("%w: beginning a transaction: %w", ErrTxnAborted, err)
			return t.err
		}
		t.open = true
	}
	t.active++
	return nil
}

// leave ends what enter began.
func (t *Transactor) leave() {
	t.mu.Lock()
	t.active--
	if t.active == 0 {
		t.cond.Broadcast()
	}
	t.mu.Unlock()
}

// consumed records that the messages of topic partition up to next-1 are
// processed: their offset goes with the current transaction. Called inside
// the gate.
func (t *Transactor) consumed(topic string, partition int32, next int64) {
	t.mu.Lock()
	parts := t.offsets[topic]
	if parts == nil {
		parts = make(map[int32]int64)
		t.offsets[topic] = parts
	}
	parts[partition] = next
	t.mu.Unlock()
}

// Poison makes the current transaction abort instead of commit: a
// partition failed, and the processor stops. Kafka then shows nothing of
// what the instance wrote since its last commit, and its stores, marked
// dirty, are rebuilt at the next start.
//
// It returns cause marked with ErrTxnAborted, which the partition reports.
func (t *Transactor) Poison(cause error) error {
	if errors.Is(cause, ErrTxnAborted) {
		return cause
	}
	err := fmt.Errorf("%w: %w", ErrTxnAborted, cause)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
	}
	return err
}

// close shuts the gate and waits until no partition is inside, or until
// deadline; it reports whether the gate emptied.
func (t *Transactor) close(deadline time.Time) bool {
	wake := time.AfterFunc(time.Until(deadline), func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer wake.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for t.active > 0 {
		if !time.Now().Before(deadline) {
			return false
		}
		t.cond.Wait()
	}
	return true
}

// reopen lets the partitions in again.
func (t *Transactor) reopen() {
	t.mu.Lock()
	t.closed = false
	t.cond.Broadcast()
	t.mu.Unlock()
}

// Commit commits the current transaction: the writes sent in it and the
// offsets of the messages that caused them, waiting at most until
// deadline for the callbacks running. A transaction that cannot commit is
// aborted; the error, wrapping ErrTxnAborted, also stops the processor.
func (t *Transactor) Commit(deadline time.Time) error {
	_, err := t.commit(deadline, true)
	return err
}

// commit commits as Commit does; a callback still running at deadline
// aborts the transaction when mustCommit is set, and otherwise leaves it
// open for a later commit (committed is then false).
func (t *Transactor) commit(deadline time.Time, mustCommit bool) (committed bool, err error) {
	t.commitMu.Lock()
	defer t.commitMu.Unlock()
	if !t.close(deadline) {
		t.reopen()
		if !mustCommit {
			return false, nil
		}
		return false, t.abort(errors.New("a callback did not return before the commit's deadline"))
	}
	defer t.reopen()
	return true, t.commitOpen()
}

// commitOpen commits the open transaction, the gate closed.
func (t *Transactor) commitOpen() error {
	t.mu.Lock()
	failed, open, session := t.err, t.open, t.session
	offsets := t.takeOffsetsLocked()
	t.mu.Unlock()
	if failed != nil {
		return t.abort(failed)
	}
	if !open {
		return nil
	}
	if len(offsets) > 0 {
		meta := sarama.NewConsumerGroupMetadata(t.group)
		if session != nil {
			meta = sarama.NewConsumerGroupMetadataFromSession(session, t.group, t.instance)
		}
		if err := t.prod.AddOffsetsToTxnWithGroupMetadata(offsets, meta); err != nil {
			return t.abort(fmt.Errorf("adding the consumed offsets to the transaction: %w", err))
		}
	}
	if err := t.prod.CommitTxn(); err != nil {
		return t.abort(fmt.Errorf("committing the transaction: %w", describeOffsets(err, offsets)))
	}
	t.mu.Lock()
	t.open = false
	t.commits++
	t.mu.Unlock()
	return nil
}

// abort records cause as the transactor's failure, aborts the open
// transaction and stops the processor. The gate is closed or unused.
func (t *Transactor) abort(cause error) error {
	t.mu.Lock()
	if t.err == nil {
		t.err = fmt.Errorf("%w: %w", ErrTxnAborted, cause)
	}
	err, open := t.err, t.open
	t.open = false
	t.offsets = make(map[string]map[int32]int64)
	t.mu.Unlock()
	if open {
		if aerr := t.prod.AbortTxn(); aerr != nil {
			// A fenced producer cannot abort; the broker aborts its
			// transaction itself (when the new owner's producer starts, or
			// at the transaction timeout).
			t.log.Printf("aborting the transaction: %v", aerr)
		}
	}
	t.onFail(err)
	return err
}

// takeOffsetsLocked returns the offsets recorded in sarama's form and
// forgets them.
func (t *Transactor) takeOffsetsLocked() map[string][]*sarama.PartitionOffsetMetadata {
	if len(t.offsets) == 0 {
		return nil
	}
	out := make(map[string][]*sarama.PartitionOffsetMetadata, len(t.offsets))
	for topic, parts := range t.offsets {
		list := make([]*sarama.PartitionOffsetMetadata, 0, len(parts))
		for partition, next := range parts {
			list = append(list, &sarama.PartitionOffsetMetadata{Partition: partition, Offset: next})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Partition < list[j].Partition })
		out[topic] = list
	}
	t.offsets = make(map[string]map[int32]int64)
	return out
}

// describeOffsets names the offsets a failed commit carried.
func describeOffsets(err error, offsets map[string][]*sarama.PartitionOffsetMetadata) error {
	if len(offsets) == 0 {
		return err
	}
	topics := make([]string, 0, len(offsets))
	for topic := range offsets {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	s := ""
	for _, topic := range topics {
		for _, o := range offsets[topic] {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%s/%d@%d", topic, o.Partition, o.Offset)
		}
	}
	return fmt.Errorf("with offsets %s: %w", s, err)
}

// Run commits every interval until ctx ends; a failed commit ends it (the
// processor stops on it).
func (t *Transactor) Run(ctx context.Context) {
	ticker := time.NewTicker(t.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		// The gate stays closed, every partition waiting, until the
		// running callbacks return: a callback slower than the interval
		// (at least 100 ms) leaves the transaction to the next tick
		// instead, so the others go on meanwhile.
		if _, err := t.commit(time.Now().Add(max(t.interval, 100*time.Millisecond)), false); err != nil {
			return
		}
	}
}

// Close aborts a transaction still open (nothing committed it: the
// processor stops without a session) and reports the first failure.
func (t *Transactor) Close() error {
	t.commitMu.Lock()
	defer t.commitMu.Unlock()
	t.mu.Lock()
	err, open := t.err, t.open
	t.open = false
	t.mu.Unlock()
	if open {
		if aerr := t.prod.AbortTxn(); aerr != nil {
			t.log.Printf("aborting the transaction left open: %v", aerr)
		}
	}
	return err
}

// processInTxn processes a message inside the transaction gate and records
// its offset with the transaction once its writes are sent.
func (p *Partition) processInTxn(msg *sarama.ConsumerMessage) error {
	t := p.cfg.Txn
	if t == nil {
		return p.process(msg)
	}
	if err := t.enter(); err != nil {
		return err
	}
	defer t.leave()
	p.leftUncommitted = false
	if err := p.process(msg); err != nil {
		return err
	}
	if !p.abandoned.Load() && !p.leftUncommitted {
		t.consumed(msg.Topic, msg.Partition, msg.Offset+1)
	}
	return nil
}

// visitInTxn runs a visit inside the transaction gate.
func (p *Partition) visitInTxn(v *visitRequest) {
	t := p.cfg.Txn
	if t == nil {
		p.visit(v)
		return
	}
	if err := t.enter(); err != nil {
		v.done(err)
		p.fail(err)
		return
	}
	defer t.leave()
	p.visit(v)
}

// commitTxn commits, at a partition's stop, the transaction that holds the
// partition's last writes, so that its store can be marked clean; it
// reports whether it did. Without exactly-once there is nothing to commit.
func (p *Partition) commitTxn(deadline time.Time) bool {
	t := p.cfg.Txn
	if t == nil {
		return true
	}
	if err := p.err(); err != nil {
		_ = t.Poison(err)
	}
	if err := t.Commit(deadline); err != nil {
		p.log.Printf("the transaction with the last writes of partition %d did not commit: %v", p.partition, err)
		return false
	}
	return true
}

// ErrDeferCommitExactlyOnce fails a callback that defers its commit under
// exactly-once: its offset commits with the transaction its writes are
// in, which cannot wait for something outside Kafka.
var ErrDeferCommitExactlyOnce = errors.New("DeferCommit cannot be used with exactly-once processing: a message's offset commits in the transaction of its writes")

// ErrLateWriteExactlyOnce fails a message whose callback started a
// goroutine that wrote after the callback returned: under exactly-once the
// message's offset is already with its transaction, and the write could
// land in a later one, or between two.
var ErrLateWriteExactlyOnce = errors.New("a write after the callback returned cannot be part of its exactly-once transaction")
