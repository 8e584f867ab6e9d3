package table

import (
	"slices"

	"github.com/IBM/sarama"

	"github.com/seed-b2c684ed/goka/storage"
)

// A partition consumer is slow to start and to stop with sarama: a new one
// is added to its broker's fetches only after a 100 ms batching window and
// the fetch in flight, and closing one waits for the fetch in flight, which
// is a long poll of up to Consumer.MaxWaitTime when the partition has
// nothing new. Between a Recover and the Follow after it that was a pause of
// a tenth of a second to more than half a second in which nothing written
// was applied, although the partition already said it was Running. With
// Config.KeepConsumer, Recover parks its consumer instead, and Follow takes
// it over: records keep coming without a pause, and neither waits for
// sarama.

// A Recover that leaves no consumer behind closes its own in the background
// instead: the store is complete when its last batch is written, and
// Recover returns then, not a long poll later. The next consumer of the
// partition (sarama allows one at a time) and Close wait for that close.

// parkedConsumer is a consumer Recover left running.
type parkedConsumer struct {
	pc   sarama.PartitionConsumer
	next int64 // the first offset not yet applied: where Follow must start
}

// startConsumer returns a consumer whose next record is at start: the
// parked one when it stands there, else a new one (a parked consumer
// elsewhere is closed first, as sarama allows one consumer per partition).
func (p *Partition) startConsumer(start int64) (sarama.PartitionConsumer, error) {
	if parked := p.takeParked(); parked != nil {
		if parked.next == start {
			return parked.pc, nil
		}
		p.closeConsumer(parked.pc)
	}
	p.waitClosings()
	pc, err := p.cfg.Consumer.ConsumePartition(p.cfg.Topic, p.cfg.Partition, start)
	if err != nil {
		return nil, &KafkaError{Topic: p.cfg.Topic, Partition: p.cfg.Partition, Offset: start, Op: "start consumer", Err: err}
	}
	return pc, nil
}

// startParked starts a consumer at start and parks it, for a Recover that
// had nothing to read.
func (p *Partition) startParked(start int64) error {
	pc, err := p.startConsumer(start)
	if err != nil {
		return err
	}
	p.park(pc, start)
	return nil
}

// park keeps pc, whose next record is at next, for the next Follow. Close
// closes it when no Follow takes it: Close waits for the Recover that parks
// before it looks.
func (p *Partition) park(pc sarama.PartitionConsumer, next int64) {
	p.mu.Lock()
	old := p.parked
	p.parked = &parkedConsumer{pc: pc, next: next}
	p.mu.Unlock()
	if old != nil && old.pc != pc {
		p.closeConsumer(old.pc)
	}
}

// takeParked removes the parked consumer and returns it, nil when there is
// none.
func (p *Partition) takeParked() *parkedConsumer {
	p.mu.Lock()
	defer p.mu.Unlock()
	parked := p.parked
	p.parked = nil
	return parked
}

// parkedPosition is where Follow starts when a parked consumer stands right
// after the store's offset: no lookup is needed, the topic's positions were
// checked by the Recover that parked it a moment ago. ok is false when
// there is no such consumer; consume then closes a parked one that stands
// elsewhere.
func (p *Partition) parkedPosition(st storage.Storage) (pos position, ok bool, err error) {
	p.mu.Lock()
	parked := p.parked
	p.mu.Unlock()
	if parked == nil {
		return position{}, false, nil
	}
	stored, err := st.GetOffset(noOffset)
	if err != nil {
		return position{}, false, p.errorf("read stored offset: %w", err)
	}
	switch {
	case stored == noOffset:
		// Nothing applied yet: the Recover found nothing to read and
		// parked its consumer where it would have started.
	case stored == DirtyOffset || stored+1 != parked.next:
		// Written by someone else since: the full lookup decides.
		return position{}, false, nil
	}
	return position{start: parked.next, hwm: parked.pc.HighWaterMarkOffset()}, true, nil
}

// closeParked closes a consumer no Follow took.
func (p *Partition) closeParked() {
	if parked := p.takeParked(); parked != nil {
		p.closeConsumer(parked.pc)
	}
}

// releaseParked closes, in the background, a consumer no Follow will take
// because the owner writes the store itself from now on (MarkDirty). A
// closed partition's Close closes it instead.
func (p *Partition) releaseParked() {
	leave, err := p.enter(false)
	if err != nil {
		return
	}
	defer leave()
	if parked := p.takeParked(); parked != nil {
		p.closeLater(parked.pc)
	}
}

// ReleaseConsumer lets go of the consumer a Recover parked with
// Config.KeepConsumer, closing it in the background: for an owner that will
// not Follow soon, since a parked consumer nobody drains holds back the
// other partitions its broker consumer fetches for. Without one it does
// nothing.
func (p *Partition) ReleaseConsumer() { p.releaseParked() }

// closeLater stops pc at once and closes it on a goroutine of its own, which
// waitClosings waits for: nothing is delivered after it returned, but the
// close waits for the fetch in flight.
func (p *Partition) closeLater(pc sarama.PartitionConsumer) {
	pc.AsyncClose()
	done := make(chan struct{})
	p.mu.Lock()
	// Forget the closes that have finished, so the list stays short.
	p.closings = slices.DeleteFunc(p.closings, func(c chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	})
	p.closings = append(p.closings, done)
	p.mu.Unlock()
	go func() {
		defer close(done)
		p.closeConsumer(pc)
	}()
}

// waitClosings waits for the background closes started so far.
func (p *Partition) waitClosings() {
	p.mu.Lock()
	closings := slices.Clone(p.closings)
	p.mu.Unlock()
	for _, c := range closings {
		<-c
	}
}

// closeConsumer closes pc and logs the errors it still held: after a
// failure they only repeat it, after a success they no longer matter.
func (p *Partition) closeConsumer(pc sarama.PartitionConsumer) {
	defer func() {
		// It may run on a goroutine of its own (closeLater), where nothing
		// else would recover a panic of the client.
		if v := recover(); v != nil {
			p.cfg.Logf("table: topic %q partition %d: closing the consumer panicked: %v", p.cfg.Topic, p.cfg.Partition, v)
		}
	}()
	if err := pc.Close(); err != nil {
		p.cfg.Logf("table: topic %q partition %d: closing the consumer: %v", p.cfg.Topic, p.cfg.Partition, err)
	}
}
