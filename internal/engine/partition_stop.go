package engine

import "time"

// markClean stores the offset of the last acknowledged table write in place
// of the dirty mark, once every write of the partition settled and none was
// refused, and reports whether the store is clean; otherwise the mark stays
// and the next start rebuilds the store.
func (p *Partition) markClean(settled bool) bool {
	if p.table == nil || !p.markedDirty {
		return true
	}
	if !settled || p.tableWriteFailed.Load() {
		p.log.Printf("table %s partition %d may hold writes Kafka did not acknowledge: it stays marked dirty and is rebuilt from the topic at the next start",
			p.plan.Table, p.partition)
		return false
	}
	offset := max(p.acked.Load(), p.cleanOffset)
	if err := p.table.Storage().SetOffset(offset); err != nil {
		p.log.Printf("storing offset %d of table %s: %v", offset, p.plan.Table, err)
		return false
	}
	p.markedDirty = false
	return true
}

// Stop stops the partition: it stops taking messages, waits (bounded) until
// the messages already processed are acknowledged and committed, writes the
// cached rows and stores the table offset. The tables stay open in the
// processor's registry, which closes those of partitions that leave the
// instance. It returns the partition's error, if any. Stop is idempotent.
//
// The whole stop has a deadline, the processor's partition stop timeout: a
// callback still running when it passes is left behind (see abandon), so a
// rebalance is never held up past the consumer group's rebalance timeout.
func (p *Partition) Stop() error {
	p.stopOnce.Do(func() {
		p.state.SetState(PartStopping)
		deadline := time.Now().Add(p.cfg.StopTimeout)
		if p.cancel != nil {
			p.cancel()
		}
		if ended := p.waitGoroutines(deadline); ended != nil {
			p.abandon(ended)
			p.finishStop()
			return
		}
		settled := p.inflight.wait(time.Until(deadline))
		committed := p.commitTxn(deadline)
		rows := p.rows.Load()
		if rows != nil {
			if err := rows.Flush(); err != nil {
				p.log.Printf("writing the cached rows of table %s partition %d: %v", p.plan.Table, p.partition, err)
				settled = false
			}
		}
		if !settled {
			p.log.Printf("stopping with messages whose writes were not acknowledged within %v: they are not committed", p.cfg.StopTimeout)
		}
		if p.markClean(settled && committed) && rows != nil {
			// The next session that runs the partition keeps the rows.
			p.tableEntry.Rows = rows
		}
		p.finishStop()
	})
	return p.stopErr
}

// finishStop ends Stop: the partition's error and its metrics.
func (p *Partition) finishStop() {
	p.stopErr = p.err()
	p.deferred.Close()
	if p.stopMetrics != nil {
		p.stopMetrics()
	}
	p.state.SetState(PartStopped)
}

// waitGoroutines waits until the partition's goroutines ended or deadline
// passed; then it returns a channel closed when they end, else nil.
func (p *Partition) waitGoroutines(deadline time.Time) <-chan struct{} {
	ended := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(ended)
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-ended:
		return nil
	case <-timer.C:
		return ended
	}
}

// abandon leaves behind a partition whose callback outlived the stop
// deadline: its group table stays marked dirty (it may hold the callback's
// writes, and the writes of messages not acknowledged), nothing more of it
// is committed or sent, and the registry closes its tables once the
// callback returned. The next session that runs the partition opens them
// again and rebuilds the group table from the topic.
func (p *Partition) abandon(ended <-chan struct{}) {
	p.abandoned.Store(true)
	p.log.Printf("partition %d did not stop within %v: a callback is still running; table %s stays marked dirty and is rebuilt from the topic at the next start, and the messages not committed are processed again by the next owner",
		p.partition, p.cfg.StopTimeout, p.plan.Table)
	if p.cfg.Stores == nil {
		return
	}
	if p.table != nil {
		p.cfg.Stores.Abandon(p.plan.Table, p.partition, ended)
	}
	for topic := range p.joins {
		p.cfg.Stores.Abandon(topic, p.partition, ended)
	}
}
