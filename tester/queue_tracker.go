package tester

import "github.com/seed-b2c684ed/goka"

// QueueTracker reads what was produced to a topic, from the moment it was
// created on, for assertions on emitted messages.
type QueueTracker struct {
	tt     *Tester
	topic  string
	offset int64
}

// NewQueueTracker returns a tracker of topic that starts at the topic's
// current end, so it sees only messages produced afterwards. It returns at
// once, as goka's does: tests create their trackers before they start the
// processors' Run goroutines.
func (tt *Tester) NewQueueTracker(topic string) *QueueTracker {
	tt.broker.ensure(topic)
	return &QueueTracker{tt: tt, topic: topic, offset: tt.broker.hwm(topic)}
}

// Next returns the next message decoded with the topic's registered codec,
// and false when there is none.
func (qt *QueueTracker) Next() (string, interface{}, bool) {
	_, key, value, ok := qt.NextWithHeaders()
	return key, value, ok
}

// NextWithHeaders is Next with the message's headers, which come first as
// in goka.
func (qt *QueueTracker) NextWithHeaders() (goka.Headers, string, interface{}, bool) {
	headers, key, raw, ok := qt.NextRawWithHeaders()
	if !ok {
		return nil, "", nil, false
	}
	if raw == nil {
		return headers, key, nil, true
	}
	value, err := qt.tt.codecOf(qt.topic).Decode(raw)
	if err != nil {
		qt.tt.t.Fatalf("tester: decoding the message at offset %d of topic %s: %v", qt.offset-1, qt.topic, err)
	}
	return headers, key, value, true
}

// NextRaw returns the next message undecoded.
func (qt *QueueTracker) NextRaw() (string, []byte, bool) {
	_, key, value, ok := qt.NextRawWithHeaders()
	return key, value, ok
}

// NextRawWithHeaders returns the next message undecoded, with its headers
// first, as in goka.
func (qt *QueueTracker) NextRawWithHeaders() (goka.Headers, string, []byte, bool) {
	qt.tt.waitIdle()
	m := qt.tt.broker.at(qt.topic, qt.offset)
	if m == nil {
		return nil, "", nil, false
	}
	qt.offset++
	return goka.HeadersFromSarama(m.headers), m.key, m.value, true
}

// Seek moves the tracker to offset.
func (qt *QueueTracker) Seek(offset int64) { qt.offset = offset }

// Hwm returns the topic's end: the offset its next message will get.
func (qt *QueueTracker) Hwm() int64 {
	qt.tt.waitIdle()
	return qt.tt.broker.hwm(qt.topic)
}

// NextOffset returns the offset of the message Next returns next.
func (qt *QueueTracker) NextOffset() int64 { return qt.offset }
