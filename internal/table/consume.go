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
// last looked up, for the stats. started is called once the consumer runs,
// applied once the last batch is written, before the consumer is let go.
// The consumer is closed before consume returns, except after a recovery
// that reached its target: then it is parked for the Follow that comes next
// when Config.KeepConsumer is set, and closed in the background otherwise
// (see handoff.go). A parked consumer that stands at start is used instead
// of a new one.
func (p *Partition) consume(ctx context.Context, st storage.Storage, start, target, hwm int64, started, applied func()) (err error) {
	pc, err := p.startConsumer(start)
	if err != nil {
		return err
	}
	var keep, recovered bool
	var next int64
	defer func() {
		p.statsMu.Lock()
		p.stats.consuming = false
		p.statsMu.Unlock()
		applied()
		switch {
		case keep:
			p.park(pc, next)
		case recovered:
			p.closeLater(pc)
		default:
			p.closeConsumer(pc)
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
	a.bs.settle = a.settle
	a.idle.init(a.last, time.Now())
	a.startWriter(st)
	defer a.stopWriter()
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
	err = a.run(ctx, ticker.C)
	if err == nil && target >= 0 {
		recovered = true
		keep, next = p.cfg.KeepConsumer, a.last+1
	}
	return err
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

	// The writer goroutine writes one batch while the loop fills the next:
	// fetching and decoding overlap with the store's writes, which would
	// otherwise add up (and a partition consumer that is not drained holds
	// back the fetches of every partition on its broker). flight is the
	// batch handed to it, untouched by the loop until its result came.
	writes   chan *storage.Batch // unbuffered: one batch in flight at most
	written  chan error          // the writer's answers; buffered, never blocks
	writerWG sync.WaitGroup
	flight   storage.Batch
	inFlight bool
	flightAt int64 // offset of flight's last record
	failed   error // a write failed: every later flush returns it

	// Counters not yet published to the stats: of the records applied
	// since the last hand-off, and of the batch in flight.
	pending, flightProgress progress

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
		var written <-chan error
		if a.inFlight {
			written = a.written
		}
		select {
		case err := <-written:
			if err := a.wrote(err); err != nil {
				return err
			}
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
				// The recovery ends here: its last batch must be in the
				// store, and a failed write must fail it.
				return a.settle()
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
		return true, a.flushAndWait()
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
	a.pending.count++
	a.pending.bytes += int64(len(msg.Value))
	a.pending.lastTs = msg.Timestamp
	return nil
}

// flush hands the batch, together with the offset of its last record, to
// the writer, once the batch before it is written. It returns before the
// write: settle waits for it.
func (a *applier) flush() error {
	if a.records == 0 {
		return a.failed
	}
	if err := a.settle(); err != nil {
		return err
	}
	a.bs.batch.SetOffset(a.last)
	a.flight, a.bs.batch = a.bs.batch, a.flight
	a.bs.reset()
	a.records = 0
	a.inFlight, a.flightAt = true, a.last
	a.flightProgress, a.pending = a.pending, progress{}
	a.writes <- &a.flight
	return nil
}

// flushAndWait writes the batch and returns once it is in the store.
func (a *applier) flushAndWait() error {
	if err := a.flush(); err != nil {
		return err
	}
	return a.settle()
}

// settle waits for the batch in flight to be written; the Update's reads of
// the store call it too, so that they see every record applied before.
func (a *applier) settle() error {
	if a.inFlight {
		return a.wrote(<-a.written)
	}
	return a.failed
}

// wrote takes the writer's answer about the batch in flight.
func (a *applier) wrote(err error) error {
	a.inFlight = false
	if err != nil && a.failed == nil {
		a.failed = fmt.Errorf("table: topic %q partition %d offset %d: write batch: %w", a.p.cfg.Topic, a.p.cfg.Partition, a.flightAt, err)
	}
	if a.failed != nil {
		return a.failed
	}
	a.publish(a.flightAt, &a.flightProgress)
	return nil
}

// startWriter starts the goroutine that writes the batches to st.
func (a *applier) startWriter(st storage.Storage) {
	a.writes = make(chan *storage.Batch)
	a.written = make(chan error, 1)
	a.writerWG.Add(1)
	go func() {
		defer a.writerWG.Done()
		for b := range a.writes {
			a.written <- writeBatch(st, b)
		}
	}()
}

// stopWriter ends the writer once the batch in flight is written, so that
// nothing of the loop outlives consume and the store holds every batch
// handed over, whatever ended the loop.
func (a *applier) stopWriter() {
	close(a.writes)
	a.writerWG.Wait()
	if a.inFlight {
		_ = a.wrote(<-a.written) // the loop already returned its error
	}
}

// writeBatch writes b, turning a panic of the store into an error: it runs
// on the writer's goroutine, where nothing else would recover it.
func writeBatch(st storage.Storage, b *storage.Batch) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("storage panicked: %v", v)
		}
	}()
	return storage.WriteBatch(st, b)
}

// progress counts records not yet published to the stats.
type progress struct {
	count, bytes int64
	lastTs       time.Time
}

// publish hands the counters of pr to the stats and clears them; last is
// the offset of the last record they count.
func (a *applier) publish(last int64, pr *progress) {
	now := a.p.cfg.Now()
	hwm := a.pc.HighWaterMarkOffset()
	s := &a.p.stats
	a.p.statsMu.Lock()
	defer a.p.statsMu.Unlock()
	s.hwm = max(s.hwm, hwm)
	if pr.count == 0 {
		return
	}
	s.input.Count += pr.count
	s.input.Bytes += pr.bytes
	s.input.LastOffset = max(s.input.LastOffset, last)
	if a.target >= 0 {
		s.recovery.Offset = max(s.recovery.Offset, last)
	}
	if pr.lastTs.After(s.lastRecord) {
		s.lastRecord = pr.lastTs
	}
	s.lastMessage = now
	*pr = progress{}
}

// onTick refreshes the stats and, during recovery, watches a consumer that
// delivers nothing: see stall.go.
func (a *applier) onTick(now time.Time) {
	a.publish(a.last, &a.pending)
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
	if err := a.flushAndWait(); err != nil {
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
