package metrics

import "github.com/prometheus/client_golang/prometheus"

// newOffsetResets is goka_processor_offset_resets_total: how often a claimed
// input partition resumed at the oldest offset because its committed offset
// had fallen out of the topic. Every increment is records deleted (by
// retention, or DeleteRecords) before the group processed them.
func newOffsetResets() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goka_processor_offset_resets_total",
		Help: "Claimed input partitions whose committed offset was below the oldest offset still in the topic: " +
			"the records in between were deleted before the group processed them, and the partition resumed at the oldest offset.",
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
// offset because its committed offset was no longer in the topic.
func (m *Processor) OffsetReset(topic string, partition int32) {
	if m == nil {
		return
	}
	m.set.offsetResets.WithLabelValues(m.group, topic, partitionLabel(partition)).Inc()
}
