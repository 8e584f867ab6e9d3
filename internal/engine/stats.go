package engine

import (
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/metrics"
	"github.com/seed-b2c684ed/goka/internal/table"
)

// countInput updates the input stats of a message's topic.
func (p *Partition) countInput(msg *sarama.ConsumerMessage) {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	s, ok := p.inStats[msg.Topic]
	if !ok {
		s = new(InputStats)
		p.inStats[msg.Topic] = s
	}
	s.Count++
	s.Bytes += len(msg.Value)
	s.LastOffset = msg.Offset
	p.metrics.Consumed(msg.Topic, len(msg.Value))
	// The delay is computed when stats are read: a clock read per message
	// showed in the profile.
	p.lastTimestamps[msg.Topic] = msg.Timestamp
}

// countOutput updates the output stats of a topic.
func (p *Partition) countOutput(topic string, n int) {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	s, ok := p.outStat[topic]
	if !ok {
		s = new(OutputStats)
		p.outStat[topic] = s
	}
	s.Count++
	s.Bytes += n
	p.metrics.Emitted(topic, n)
	if topic == p.plan.Table && p.table != nil {
		p.table.TrackWrite(n)
	}
}

// Stats is a snapshot of a partition; the API converts it into its own
// stats types.
type Stats struct {
	Now time.Time
	// Table is nil for a stateless group.
	Table  *table.Stats
	Joined map[string]table.Stats
	Input  map[string]*InputStats
	Output map[string]*OutputStats
}

// InputStats count the messages of one input or loop topic.
type InputStats struct {
	Count      uint
	Bytes      int
	OffsetLag  int64
	LastOffset int64
	Delay      time.Duration
	// What the error policy did (see ErrorPolicy).
	Retried      uint
	Skipped      uint
	DeadLettered uint
}

// OutputStats count the records sent to one topic.
type OutputStats struct {
	Count uint
	Bytes int
}

// Stats returns a snapshot of the partition's tables and traffic.
func (p *Partition) Stats() *Stats {
	stats := &Stats{
		Now:    time.Now(),
		Joined: make(map[string]table.Stats, len(p.joins)),
		Input:  make(map[string]*InputStats),
		Output: make(map[string]*OutputStats),
	}
	if p.table != nil {
		s := p.table.Stats()
		stats.Table = &s
	}
	for topic, jt := range p.joins {
		stats.Joined[topic] = jt.Stats()
	}
	claimed := p.claimedHighWaterMarks()
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	for topic, s := range p.inStats {
		c := *s
		if hwm, ok := claimed[topic]; ok && hwm-1 > c.LastOffset {
			c.OffsetLag = hwm - 1 - c.LastOffset
		}
		if ts := p.lastTimestamps[topic]; !ts.IsZero() {
			c.Delay = stats.Now.Sub(ts)
		}
		stats.Input[topic] = &c
	}
	for topic, s := range p.outStat {
		c := *s
		stats.Output[topic] = &c
	}
	return stats
}

// setClaim records the claim of one of the partition's topics, whose
// high-water mark the consumer keeps current while messages wait: the lag
// then shows a backlog even when the partition is stuck in a callback.
func (p *Partition) setClaim(claim sarama.ConsumerGroupClaim) {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	p.claims[claim.Topic()] = claim
}

// claimedHighWaterMarks reads the current high-water mark of every claimed
// topic. The claims are read outside statsMu: their consumer has locks of
// its own.
func (p *Partition) claimedHighWaterMarks() map[string]int64 {
	p.statsMu.Lock()
	claims := make(map[string]sarama.ConsumerGroupClaim, len(p.claims))
	for topic, c := range p.claims {
		claims[topic] = c
	}
	p.statsMu.Unlock()
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
func (p *Partition) reportLags(report func(topic string, lag int64)) {
	type lag struct {
		topic string
		n     int64
	}
	claimed := p.claimedHighWaterMarks()
	lags := make([]lag, 0, len(claimed))
	p.statsMu.Lock()
	for topic, hwm := range claimed {
		last := p.claims[topic].InitialOffset() - 1
		if s, ok := p.inStats[topic]; ok {
			last = s.LastOffset
		} else if last < -1 {
			continue
		}
		lags = append(lags, lag{topic, max(hwm-1-last, 0)})
	}
	p.statsMu.Unlock()
	// Reported after the lock is released: report may block on a scrape.
	for _, l := range lags {
		report(l.topic, l.n)
	}
}

// inputTopics are the topics whose messages the partition processes.
func (p *Partition) inputTopics() []string {
	topics := append([]string(nil), p.plan.Inputs...)
	if p.plan.Loop != "" {
		topics = append(topics, p.plan.Loop)
	}
	return topics
}

// outputTopics are the topics the partition's callbacks and its error
// policies may write to.
func (p *Partition) outputTopics() []string {
	topics := make([]string, 0, len(p.plan.Outputs)+len(p.plan.DeadLetters)+2)
	topics = append(topics, p.plan.Outputs...)
	topics = append(topics, p.plan.DeadLetters...)
	if p.plan.Loop != "" {
		topics = append(topics, p.plan.Loop)
	}
	if p.plan.Table != "" {
		topics = append(topics, p.plan.Table)
	}
	return topics
}

// metricsSource is what scrapes read from the partition: the lags of its
// inputs when it processes them, and its tables.
func (p *Partition) metricsSource() *metrics.Source {
	src := &metrics.Source{Tables: make(map[string]metrics.TableStats, len(p.joins)+1)}
	switch p.role {
	case RoleActive:
		src.Mode = metrics.ModeActive
		src.Lags = p.reportLags
		src.OldestDeferred = p.oldestDeferred
	case RolePassive:
		src.Mode = metrics.ModePassive
	default:
		src.Mode = metrics.ModeRecover
	}
	if p.table != nil {
		src.Tables[p.plan.Table] = p.table
	}
	for topic, jt := range p.joins {
		src.Tables[topic] = jt
	}
	return src
}
