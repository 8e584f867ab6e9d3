package table

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/seed-b2c684ed/goka/storage"
)

// errStopped ends the loop when ctx ends or Close is called.
var errStopped = errors.New("table: stopped")

// errConsumerClosed reports a partition consumer that closed its messages
// channel on its own, which sarama does after giving up.
var errConsumerClosed = errors.New("partition consumer closed unexpectedly")

// maxTick bounds the loop's ticker, which refreshes the consumer's
// high-water mark for the stats and detects an idle consumer.
const maxTick = time.Second

// maxCheckBackoff bounds the wait between two gap checks that proved
// nothing.
const maxCheckBackoff = 30 * time.Second

// consume starts a partition consumer at start and applies its records
// until target is reached (target < 0: never), ctx ends or the partition is
// closed (errStopped), or an error. hwm is the topic's high-water mark as
// last looked up, for the stats. started is called once the consumer runs.
// The consumer is closed before consume returns.
func (p *Partition) consume(ctx context.Context, st storage.Storage, start, target, hwm int64, started func()) (err error) {
	pc, err := p.cfg.Consumer.ConsumePartition(p.cfg.Topic, p.cfg.Partition, start)
	if err != nil {
		return &KafkaError{Topic: p.cfg.Topic, Partition: p.cfg.Partition, Offset: start, Op: "start consumer", Err: err}
	}
	defer func() {
		p.statsMu.Lock()
		p.stats.consuming = false
		p.statsMu.Unlock()
		if cerr := pc.Close(); cerr != nil {
			// Errors the consumer still held; after a failure they only
			// repeat it, after a success they no longer matter.
			p.cfg.Logf("table: topic %q partition %d: closing the consumer: %v", p.cfg.Topic, p.cfg.Partition, cerr)
		}
	}()

	p.statsMu.Lock()
	p.stats.consuming = true
	p.stats.input.LastOffset = start - 1
	p.stats.hwm = max(hwm, pc.HighWaterMarkOffset())
	p.stats.lastMessage = p.cfg.Now()
	p.statsMu.Unlock()
	started()

	tick := min(max(p.cfg.IdleTimeout/4, time.Millisecond), maxTick, max(p.cfg.ProgressInterval/2, time.Millisecond))
	a := &applier{
		p:      p,
		pc:     pc,
		update: p.cfg.Update,
		target: target,
		last:   start - 1,
		bs:     batchStorage{st: st},
	}
	a.rec.Topic, a.rec.Partition = p.cfg.Topic, p.cfg.Partition
	a.idle.init(a.last, time.Now())
	checkCtx, cancelCheck := context.WithCancel(ctx)
	a.checkCtx = checkCtx
	defer func() {
		// A gap check in progress ends with its Kafka round trip at the
		// latest; nothing of the loop may outlive consume.
		cancelCheck()
		a.checks.Wait()
	}()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	return a.run(ctx, ticker.C)
}

// applier is the state of one consume loop; only its goroutine touches it.
type applier struct {
	p      *Partition
	pc     sarama.PartitionConsumer
	update Update
	target int64 // stop once this offset is reached; < 0: follow for ever
	rec    Record

	bs      batchStorage
	records int   // records applied since the last flush
	last    int64 // offset of the last record applied

	// Counters not yet published to the stats.
	count, bytes int64
	lastTs       time.Time

	// idle is the recovery's watch over a consumer that delivers nothing;
	// only ticks and gap checks' answers touch it, so the per-record path
	// stays as it was.
	idle     idleWatch
	checkCtx context.Context // ends when consume returns
	checks   sync.WaitGroup  // the gap check in progress
	// flushedFull: a full batch was written since the loop last looked at
	// errors and stop requests.
	flushedFull bool
}

// run is the loop. It takes every message that is ready into the current
// batch and writes the batch when it is full or when no message is ready,
// so recovery writes big batches while a follower shows a new record at
// once. The fast path is a receive on the messages channel alone; errors,
// ctx and Close are looked at whenever a batch is written.
func (a *applier) run(ctx context.Context, tick <-chan time.Time) error {
	msgs, errs := a.pc.Messages(), a.pc.Errors()
	for {
		select {
		case msg, ok := <-msgs:
			if done, err := a.onMessage(msg, ok); done || err != nil {
				return err
			}
			if a.flushedFull {
				// A busy channel would keep the loop here: look for errors
				// and stop requests after every full batch.
				a.flushedFull = false
				if err := a.interrupted(ctx, &errs); err != nil {
					return err
				}
			}
			continue
		default:
		}
		if err := a.flush(); err != nil {
			return err
		}
		select {
		case msg, ok := <-msgs:
			if done, err := a.onMessage(msg, ok); done || err != nil {
				return err
			}
		case cerr, ok := <-errs:
			if !ok {
				errs = nil // closed; the messages channel closes too
				continue
			}
			if a.retriedByConsumer(cerr) {
				continue
			}
			return a.consumerFailed(cerr)
		case <-ctx.Done():
			return errStopped
		case <-a.p.done:
			return errStopped
		case now := <-tick:
			a.onTick(now)
		case r := <-a.idle.results:
			// Taken at once rather than at the next tick: a proof ends
			// the recovery without another second's wait.
			if a.gapChecked(r, time.Now()) {
				return nil
			}
		}
	}
}

// interrupted looks, without waiting, for a consumer error or a stop
// request. A closed errors channel is set to nil so it is not read again.
func (a *applier) interrupted(ctx context.Context, errs *<-chan *sarama.ConsumerError) error {
	select {
	case cerr, ok := <-*errs:
		if !ok {
			*errs = nil
		} else if !a.retriedByConsumer(cerr) {
			return a.consumerFailed(cerr)
		}
	default:
	}
	if ctx.Err() != nil || a.p.isClosed() {
		return errStopped
	}
	return nil
}

// onMessage handles one receive from the messages channel: done reports
// that recovery reached its target.
func (a *applier) onMessage(msg *sarama.ConsumerMessage, ok bool) (done bool, err error) {
	if !ok {
		return true, a.consumerFailed(nil)
	}
	if msg == nil { // the tester's way to poke a consumer
		return false, nil
	}
	if err := a.apply(msg); err != nil {
		return true, err
	}
	if a.target >= 0 && a.last+1 >= a.target {
		return true, a.flush()
	}
	if a.records >= a.p.cfg.MaxBatchRecords || a.bs.bytes >= a.p.cfg.MaxBatchBytes {
		if err := a.flush(); err != nil {
			return true, err
		}
		a.flushedFull = true
	}
	return false, nil
}

// apply runs one record through the update into the batch.
func (a *applier) apply(msg *sarama.ConsumerMessage) error {
	key := string(msg.Key)
	if a.update == nil {
		if msg.Value == nil {
			_ = a.bs.Delete(key) // buffering cannot fail
		} else {
			_ = a.bs.Set(key, msg.Value)
		}
	} else {
		a.rec.Offset, a.rec.Key, a.rec.Value = msg.Offset, key, msg.Value
		a.rec.Headers, a.rec.Timestamp = msg.Headers, msg.Timestamp
		err := a.update(&a.bs, &a.rec)
		a.rec.Value, a.rec.Headers = nil, nil
		if err != nil {
			// The batch may hold part of this record's writes: drop it all,
			// so the store's offset stays before the record.
			a.bs.reset()
			a.records = 0
			return &UpdateError{Topic: a.p.cfg.Topic, Partition: a.p.cfg.Partition, Offset: msg.Offset, Key: key, Err: err}
		}
	}
	a.records++
	a.last = msg.Offset
	a.count++
	a.bytes += int64(len(msg.Value))
	a.lastTs = msg.Timestamp
	return nil
}

// flush writes the batch together with the offset of its last record.
func (a *applier) flush() error {
	if a.records == 0 {
		return nil
	}
	a.bs.batch.SetOffset(a.last)
	err := storage.WriteBatch(a.bs.st, &a.bs.batch)
	a.bs.reset()
	a.records = 0
	if err != nil {
		return fmt.Errorf("table: topic %q partition %d offset %d: write batch: %w", a.p.cfg.Topic, a.p.cfg.Partition, a.last, err)
	}
	a.publish()
	return nil
}

// publish hands the counters to the stats.
func (a *applier) publish() {
	now := a.p.cfg.Now()
	hwm := a.pc.HighWaterMarkOffset()
	s := &a.p.stats
	a.p.statsMu.Lock()
	defer a.p.statsMu.Unlock()
	s.hwm = max(s.hwm, hwm)
	if a.count == 0 {
		return
	}
	s.input.Count += a.count
	s.input.Bytes += a.bytes
	s.input.LastOffset = a.last
	if a.target >= 0 {
		s.recovery.Offset = a.last
	}
	s.lastRecord = a.lastTs
	s.lastMessage = now
	a.count, a.bytes = 0, 0
}

// onTick refreshes the stats and, during recovery, watches a consumer that
// delivers nothing: see stall.go.
func (a *applier) onTick(now time.Time) {
	a.publish()
	if a.target >= 0 {
		a.watchIdle(now)
	}
}

// consumerFailed ends the loop on a consumer error or a consumer that closed
// by itself, keeping the records applied so far.
func (a *applier) consumerFailed(cerr *sarama.ConsumerError) error {
	var cause error = errConsumerClosed
	if cerr != nil {
		cause = cerr
	} else {
		// The consumer may have said why before closing.
		select {
		case e, ok := <-a.pc.Errors():
			if ok && e != nil {
				cause = e
			}
		default:
		}
	}
	kerr := &KafkaError{Topic: a.p.cfg.Topic, Partition: a.p.cfg.Partition, Offset: a.last + 1, Op: "consume", Err: cause}
	if err := a.flush(); err != nil {
		return errors.Join(kerr, err)
	}
	return kerr
}

// isClosed reports whether Close was called.
func (p *Partition) isClosed() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
