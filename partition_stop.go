package goka

import "time"

// markClean stores the offset of the last acknowledged table write in place
// of the dirty mark, once every write of the partition settled and none was
// refused, and reports whether the store is clean; otherwise the mark stays
// and the next start rebuilds the store.
func (pp *PartitionProcessor) markClean(settled bool) bool {
	if pp.table == nil || !pp.markedDirty {
		return true
	}
	if !settled || pp.tableWriteFailed.Load() {
		pp.log.Printf("table %s partition %d may hold writes Kafka did not acknowledge: it stays marked dirty and is rebuilt from the topic at the next start",
			pp.tableTopic, pp.partition)
		return false
	}
	offset := max(pp.acked.Load(), pp.cleanOffset)
	if err := pp.table.Storage().SetOffset(offset); err != nil {
		pp.log.Printf("storing offset %d of table %s: %v", offset, pp.tableTopic, err)
		return false
	}
	pp.markedDirty = false
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
func (pp *PartitionProcessor) Stop() error {
	pp.stopOnce.Do(func() {
		pp.state.SetState(PPStateStopping)
		deadline := time.Now().Add(pp.opts.stopTimeout)
		if pp.cancel != nil {
			pp.cancel()
		}
		if ended := pp.waitGoroutines(deadline); ended != nil {
			pp.abandon(ended)
			pp.finishStop()
			return
		}
		settled := pp.inflight.wait(time.Until(deadline))
		rows := pp.rows.Load()
		if rows != nil {
			if err := rows.Flush(); err != nil {
				pp.log.Printf("writing the cached rows of table %s partition %d: %v", pp.tableTopic, pp.partition, err)
				settled = false
			}
		}
		if !settled {
			pp.log.Printf("stopping with messages whose writes were not acknowledged within %v: they are not committed", pp.opts.stopTimeout)
		}
		if pp.markClean(settled) && rows != nil {
			// The next session that runs the partition keeps the rows.
			pp.tableEntry.Rows = rows
		}
		pp.finishStop()
	})
	return pp.stopErr
}

// finishStop ends Stop: the partition's error and its metrics.
func (pp *PartitionProcessor) finishStop() {
	pp.stopErr = pp.err()
	pp.deferred.Close()
	if pp.stopMetrics != nil {
		pp.stopMetrics()
	}
	pp.state.SetState(PPStateStopped)
}

// waitGoroutines waits until the partition's goroutines ended or deadline
// passed; then it returns a channel closed when they end, else nil.
func (pp *PartitionProcessor) waitGoroutines(deadline time.Time) <-chan struct{} {
	ended := make(chan struct{})
	go func() {
		pp.wg.Wait()
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
func (pp *PartitionProcessor) abandon(ended <-chan struct{}) {
	pp.abandoned.Store(true)
	pp.log.Printf("partition %d did not stop within %v: a callback is still running; table %s stays marked dirty and is rebuilt from the topic at the next start, and the messages not committed are processed again by the next owner",
		pp.partition, pp.opts.stopTimeout, pp.tableTopic)
	if pp.registry == nil {
		return
	}
	if pp.table != nil {
		pp.registry.Abandon(pp.tableTopic, pp.partition, ended)
	}
	for topic := range pp.joins {
		pp.registry.Abandon(topic, pp.partition, ended)
	}
}
