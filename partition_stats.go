package goka

import (
	"errors"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/metrics"
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
	pp.metrics.Consumed(msg.Topic, len(msg.Value))
	// The delay is computed when stats are read: a clock read per message
	// showed in the profile.
	pp.lastTimestamps[msg.Topic] = msg.Timestamp
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
	pp.metrics.Emitted(topic, n)
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
	claimed := pp.claimedHighWaterMarks()
	pp.statsMu.Lock()
	defer pp.statsMu.Unlock()
	for topic, s := range pp.inStats {
		c := *s
		if hwm, ok := claimed[topic]; ok && hwm-1 > c.LastOffset {
			c.OffsetLag = hwm - 1 - c.LastOffset
		}
		if ts := pp.lastTimestamps[topic]; !ts.IsZero() {
			c.Delay = stats.Now.Sub(ts)
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

// setClaim records the claim of one of the partition's topics, whose
// high-water mark the consumer keeps current while messages wait: the lag
// then shows a backlog even when the partition is stuck in a callback.
func (pp *PartitionProcessor) setClaim(claim sarama.ConsumerGroupClaim) {
	pp.statsMu.Lock()
	defer pp.statsMu.Unlock()
	pp.claims[claim.Topic()] = claim
}

// claimedHighWaterMarks reads the current high-water mark of every claimed
// topic. The claims are read outside statsMu: their consumer has locks of
// its own.
func (pp *PartitionProcessor) claimedHighWaterMarks() map[string]int64 {
	pp.statsMu.Lock()
	claims := make(map[string]sarama.ConsumerGroupClaim, len(pp.claims))
	for topic, c := range pp.claims {
		claims[topic] = c
	}
	pp.statsMu.Unlock()
	hwms := make(map[string]int64, len(claims))
	for topic, c := range claims {
		hwms[topic] = c.HighWaterMarkOffset()
	}
	return hwms
}

// reportLags reports the consumer lag of every claimed topic: the newest
// high-water mark - 1 - the offset of the last message taken (before the
// first, the one before the claim's initial offset). A topic whose start
// is not known yet (initial offset oldest or newest, no message yet) is
// left out rather than guessed.
func (pp *PartitionProcessor) reportLags(report func(topic string, lag int64)) {
	type lag struct {
		topic string
		n     int64
	}
	claimed := pp.claimedHighWaterMarks()
	lags := make([]lag, 0, len(claimed))
	pp.statsMu.Lock()
	for topic, hwm := range claimed {
		last := pp.claims[topic].InitialOffset() - 1
		if s, ok := pp.inStats[topic]; ok {
			last = s.LastOffset
		} else if last < -1 {
			continue
		}
		lags = append(lags, lag{topic, max(hwm-1-last, 0)})
	}
	pp.statsMu.Unlock()
	// Reported after the lock is released: report may block on a scrape.
	for _, l := range lags {
		report(l.topic, l.n)
	}
}

// inputTopics are the topics whose messages the partition processes.
func (pp *PartitionProcessor) inputTopics() []string {
	topics := pp.graph.InputStreams().Topics()
	if pp.loopTopic != "" {
		topics = append(topics, pp.loopTopic)
	}
	return topics
}

// outputTopics are the topics the partition's callbacks may write to.
func (pp *PartitionProcessor) outputTopics() []string {
	topics := make([]string, 0, len(pp.outputs)+2)
	for topic := range pp.outputs {
		topics = append(topics, topic)
	}
	if pp.loopTopic != "" {
		topics = append(topics, pp.loopTopic)
	}
	if pp.tableTopic != "" {
		topics = append(topics, pp.tableTopic)
	}
	return topics
}

// metricsSource is what scrapes read from the partition: the lags of its
// inputs when it processes them, and its tables.
func (pp *PartitionProcessor) metricsSource() *metrics.Source {
	src := &metrics.Source{Tables: make(map[string]metrics.TableStats, len(pp.joins)+1)}
	switch pp.mode {
	case runModeActive:
		src.Mode = metrics.ModeActive
		src.Lags = pp.reportLags
		src.OldestDeferred = pp.oldestDeferred
	case runModePassive:
		src.Mode = metrics.ModePassive
	default:
		src.Mode = metrics.ModeRecover
	}
	if pp.table != nil {
		src.Tables[pp.tableTopic] = pp.table
	}
	for topic, jt := range pp.joins {
		src.Tables[topic] = jt
	}
	return src
}

// errorKind classifies an error that stops a partition for the errors
// metric.
func errorKind(err error) metrics.ErrorKind {
	var me *MessageError
	switch {
	case errors.As(err, new(emitError)):
		return metrics.ErrEmit
	case errors.As(err, &me):
		return metrics.ErrProcessing
	}
	return metrics.ErrTable
}
