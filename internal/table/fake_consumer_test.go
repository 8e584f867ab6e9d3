package table

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// fakeLog is one partition of a table topic held in memory. It implements
// Consumer and Offsets, and its partition consumers behave like sarama's:
// messages in offset order from a goroutine, a high-water mark updated as
// they "fetch", errors on a separate channel, and Close waiting for the
// feeding goroutine. Offsets may have gaps, as transaction markers leave.
type fakeLog struct {
	topic     string
	partition int32
	buffer    int // capacity of the messages channel

	mu      sync.Mutex
	records []*sarama.ConsumerMessage
	oldest  int64
	hwm     int64
	changed chan struct{} // closed and replaced whenever the log changes
	pcs     map[*fakePC]struct{}
	starts  []int64 // offsets ConsumePartition was asked for
	// Errors returned by the next calls, when set.
	offsetsErr, consumeErr error
	// holdAt stalls the consumers: records at or after it are not
	// delivered; noHold when none is held.
	holdAt int64
	// gapErr is what gapCheck returns while set.
	gapErr error
	// gapChecks counts the calls of gapCheck.
	gapChecks int

	delivered atomic.Int64 // messages handed to a consumer
}

func newFakeLog(topic string, partition int32) *fakeLog {
	return &fakeLog{topic: topic, partition: partition, buffer: 16, holdAt: noHold, changed: make(chan struct{}), pcs: make(map[*fakePC]struct{})}
}

// noHold is the holdAt of a log whose consumers deliver everything.
const noHold = int64(1) << 62

// stall makes the consumers deliver nothing from offset on, like a fetch
// that hangs, while the high-water mark stays where the log ends.
func (l *fakeLog) stall(offset int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holdAt = offset
	l.notifyLocked()
}

// release delivers what stall held back.
func (l *fakeLog) release() {
	l.stall(noHold)
}

// setGapErr makes gapCheck fail with err (nil: answer again).
func (l *fakeLog) setGapErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gapErr = err
}

// gapCheck is the log's GapCheck: it knows which offsets hold records.
func (l *fakeLog) gapCheck(ctx context.Context, topic string, partition int32, from, to int64) (bool, error) {
	if err := l.check(topic, partition); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gapChecks++
	if l.gapErr != nil {
		return false, l.gapErr
	}
	for _, r := range l.records {
		if r.Offset >= from && r.Offset < to {
			return false, nil
		}
	}
	return true, ctx.Err()
}

// gapCheckCalls returns how often gapCheck was called.
func (l *fakeLog) gapCheckCalls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gapChecks
}

// notifyLocked wakes the feeders.
func (l *fakeLog) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// add appends a record (a nil value is a tombstone) and returns its offset.
func (l *fakeLog) add(key string, value []byte) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	off := l.hwm
	l.records = append(l.records, &sarama.ConsumerMessage{
		Topic: l.topic, Partition: l.partition, Offset: off,
		Key: []byte(key), Value: value, Timestamp: time.Unix(1700000000+off, 0),
	})
	l.hwm++
	l.notifyLocked()
	return off
}

// addString appends a record with a string value.
func (l *fakeLog) addString(key, value string) int64 { return l.add(key, []byte(value)) }

// skip advances the high-water mark by n offsets that hold no record, like
// transaction markers.
func (l *fakeLog) skip(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hwm += n
	l.notifyLocked()
}

// removeBefore drops the records before offset, as retention does.
func (l *fakeLog) removeBefore(offset int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.records[:0]
	for _, r := range l.records {
		if r.Offset >= offset {
			kept = append(kept, r)
		}
	}
	l.records = kept
	l.oldest = offset
	l.notifyLocked()
}

// fail sends err on the errors channel of every open consumer.
func (l *fakeLog) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for pc := range l.pcs {
		pc.errs <- &sarama.ConsumerError{Topic: l.topic, Partition: l.partition, Err: err}
	}
}

// startOffsets returns the offsets consumers were started at.
func (l *fakeLog) startOffsets() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.starts...)
}

// openConsumers counts the consumers not closed yet.
func (l *fakeLog) openConsumers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pcs)
}

func (l *fakeLog) check(topic string, partition int32) error {
	if topic != l.topic || partition != l.partition {
		return fmt.Errorf("fake: unknown topic/partition %s/%d", topic, partition)
	}
	return nil
}

// GetOffset answers like a broker's ListOffsets.
func (l *fakeLog) GetOffset(topic string, partition int32, at int64) (int64, error) {
	if err := l.check(topic, partition); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.offsetsErr != nil {
		return 0, l.offsetsErr
	}
	switch at {
	case sarama.OffsetOldest:
		return l.oldest, nil
	case sarama.OffsetNewest:
		return l.hwm, nil
	}
	return 0, errors.New("fake: only oldest and newest offsets")
}

// ConsumePartition starts a consumer at offset. Records already in the log
// are put into the channel's buffer at once, so a test that fills the log
// first knows what the consumer has ready.
func (l *fakeLog) ConsumePartition(topic string, partition int32, offset int64) (sarama.PartitionConsumer, error) {
	if err := l.check(topic, partition); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.starts = append(l.starts, offset)
	if l.consumeErr != nil {
		return nil, l.consumeErr
	}
	if offset < l.oldest || offset > l.hwm {
		return nil, sarama.ErrOffsetOutOfRange
	}
	if len(l.pcs) > 0 {
		// As sarama: one consumer per partition at a time.
		return nil, sarama.ConfigurationError("That topic/partition is already being consumed")
	}
	pc := &fakePC{
		log:   l,
		next:  offset,
		msgs:  make(chan *sarama.ConsumerMessage, l.buffer),
		errs:  make(chan *sarama.ConsumerError, 8),
		dying: make(chan struct{}),
		done:  make(chan struct{}),
	}
	pc.hwm.Store(l.hwm)
	pc.prefillLocked()
	l.pcs[pc] = struct{}{}
	go pc.feed()
	return pc, nil
}

// fakePC is a partition consumer of a fakeLog.
type fakePC struct {
	log   *fakeLog
	next  int64 // only the feeder touches it once started
	msgs  chan *sarama.ConsumerMessage
	errs  chan *sarama.ConsumerError
	hwm   atomic.Int64
	dying chan struct{}
	done  chan struct{}
	once  sync.Once
}

// prefillLocked moves ready records into the free buffer without blocking.
func (pc *fakePC) prefillLocked() {
	for _, r := range pc.log.records {
		if r.Offset < pc.next {
			continue
		}
		if r.Offset >= pc.log.holdAt {
			return
		}
		select {
		case pc.msgs <- r:
			pc.log.delivered.Add(1)
			pc.next = r.Offset + 1
		default:
			return
		}
	}
}

// pending returns the records from next on, the high-water mark and the
// channel that announces the next change.
func (pc *fakePC) pending() ([]*sarama.ConsumerMessage, int64, <-chan struct{}) {
	l := pc.log
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*sarama.ConsumerMessage
	for _, r := range l.records {
		if r.Offset >= pc.next && r.Offset < l.holdAt {
			out = append(out, r)
		}
	}
	return out, l.hwm, l.changed
}

func (pc *fakePC) feed() {
	defer close(pc.done)
	for {
		recs, hwm, changed := pc.pending()
		pc.hwm.Store(hwm)
		for _, r := range recs {
			select {
			case pc.msgs <- r:
				pc.log.delivered.Add(1)
				pc.next = r.Offset + 1
			case <-pc.dying:
				return
			}
		}
		if len(recs) > 0 {
			continue
		}
		select {
		case <-changed:
		case <-pc.dying:
			return
		}
	}
}

// AsyncClose stops the feeder.
func (pc *fakePC) AsyncClose() {
	pc.once.Do(func() { close(pc.dying) })
}

// Close stops the feeder, waits for it and closes the channels, as sarama
// does.
func (pc *fakePC) Close() error {
	pc.AsyncClose()
	<-pc.done
	pc.log.mu.Lock()
	_, open := pc.log.pcs[pc]
	delete(pc.log.pcs, pc)
	pc.log.mu.Unlock()
	if open {
		close(pc.msgs)
		close(pc.errs)
	}
	return nil
}

func (pc *fakePC) Messages() <-chan *sarama.ConsumerMessage { return pc.msgs }
func (pc *fakePC) Errors() <-chan *sarama.ConsumerError     { return pc.errs }
func (pc *fakePC) HighWaterMarkOffset() int64               { return pc.hwm.Load() }
func (pc *fakePC) Pause()                                   {}
func (pc *fakePC) Resume()                                  {}
func (pc *fakePC) IsPaused() bool                           { return false }

// closeByItself ends the consumer as sarama does after giving up: messages
// and errors are closed without Close being called.
func (pc *fakePC) closeByItself() {
	pc.AsyncClose()
	<-pc.done
	pc.log.mu.Lock()
	delete(pc.log.pcs, pc)
	pc.log.mu.Unlock()
	close(pc.msgs)
	close(pc.errs)
}

// anyConsumer returns one open consumer, or nil.
func (l *fakeLog) anyConsumer() *fakePC {
	l.mu.Lock()
	defer l.mu.Unlock()
	for pc := range l.pcs {
		return pc
	}
	return nil
}
