package goka

import (
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/table"
)

// countInput updates the input stats of a message's topic.
func (pp *PartitionProcessor) countInput(msg *sarama.ConsumerMessage) {
	pp.statsMu.Lock()
	defer pp.statsMu.Unlock()
	s, ok := pp.inStats[msg.Topic]
	if !ok {
		s = new(InputStats)
		pp.inStats[msg.Topic] = s
	}
	s.Count++
	s.Bytes += len(msg.Value)
	s.LastOffset = msg.Offset
	if !msg.Timestamp.IsZero() {
		s.Delay = time.Since(msg.Timestamp)
	}
}

// setHighWaterMark records the newest high-water mark the consumer saw for a
// topic, from which the lag is computed.
func (pp *PartitionProcessor) setHighWaterMark(topic string, hwm int64) {
	pp.statsMu.Lock()
	defer pp.statsMu.Unlock()
	pp.hwms[topic] = hwm
}

// countOutput updates the output stats of a topic.
func (pp *PartitionProcessor) countOutput(topic string, n int) {
	pp.statsMu.Lock()
	defer pp.statsMu.Unlock()
	s, ok := pp.outStat[topic]
	if !ok {
		s = new(OutputStats)
		pp.outStat[topic] = s
	}
	s.Count++
	s.Bytes += n
	if topic == pp.tableTopic && pp.table != nil {
		pp.table.TrackWrite(n)
	}
}

func (pp *PartitionProcessor) fetchStats() *PartitionProcStats {
	stats := &PartitionProcStats{
		Now:    time.Now(),
		Joined: make(map[string]*TableStats),
		Input:  make(map[string]*InputStats),
		Output: make(map[string]*OutputStats),
	}
	if pp.table != nil {
		stats.TableStats = newTableStats(pp.table.Stats(), pp.mode)
	}
	for topic, jt := range pp.joins {
		stats.Joined[topic] = newTableStats(jt.Stats(), pp.mode)
	}
	pp.statsMu.Lock()
	defer pp.statsMu.Unlock()
	for topic, s := range pp.inStats {
		c := *s
		if hwm, ok := pp.hwms[topic]; ok && hwm-1 > c.LastOffset {
			c.OffsetLag = hwm - 1 - c.LastOffset
		}
		stats.Input[topic] = &c
	}
	for topic, s := range pp.outStat {
		c := *s
		stats.Output[topic] = &c
	}
	return stats
}

// newTableStats converts the stats of a table partition.
func newTableStats(s table.Stats, mode PPRunMode) *TableStats {
	return &TableStats{
		Stalled: s.Stalled,
		Status:  PartitionStatus(s.Status),
		RunMode: mode,
		Recovery: &RecoveryStats{
			StartTime:    s.Recovery.StartTime,
			RecoveryTime: s.Recovery.RecoveryTime,
			Offset:       s.Recovery.Offset,
			Hwm:          s.Recovery.Hwm,
		},
		Input: &InputStats{
			Count:      uint(s.Input.Count),
			Bytes:      int(s.Input.Bytes),
			OffsetLag:  s.Input.OffsetLag,
			LastOffset: s.Input.LastOffset,
		},
		Writes: &OutputStats{Count: uint(s.Writes.Count), Bytes: int(s.Writes.Bytes)},
	}
}
