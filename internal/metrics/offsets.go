package metrics

import "github.com/prometheus/client_golang/prometheus"

// newOffsetResets is goka_processor_offset_resets_total: how often a claimed
// input partition resumed at the oldest offset because its committed offset
// was out of the topic's range. Below the oldest offset, every increment is
// records deleted (by retention, or DeleteRecords) before the group processed
// them; past the newest, a topic recreated or truncated.
func newOffsetResets() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goka_processor_offset_resets_total",
		Help: "Claimed input partitions whose committed offset was out of the topic's range and that resumed at the oldest offset: " +
			"below it, records were deleted before the group processed them; past the newest, the topic was recreated or truncated.",
	}, []string{labelGroup, labelTopic, labelPartition})
}

// OffsetChecked makes the reset counter of a claimed input partition exist,
// at zero until OffsetReset counts, so an alert can tell "never reset" from
// "not claimed here".
func (m *Processor) OffsetChecked(topic string, partition int32) {
	if m == nil {
		return
	}
	m.set.offsetResets.WithLabelValues(m.group, topic, partitionLabel(partition)).Add(0)
}

// OffsetReset counts a claimed input partition that resumed at the oldest
// offset because its committed offset was out of the topic's range.
func (m *Processor) OffsetReset(topic string, partition int32) {
	if m == nil {
		return
	}
	m.set.offsetResets.WithLabelValues(m.group, topic, partitionLabel(partition)).Inc()
}
