package engine

// heldWrite is one effect of a callback (a table write, an emit or a
// loopback) kept until the callback returns. Sent at once, the first effects
// of a callback that then fails would be in Kafka while its message is not
// committed, and every retry of the message would add them again.
type heldWrite struct {
	topic   string
	key     string
	data    []byte
	headers map[string][]byte
	// table marks a group table write, whose acknowledged offset the
	// partition tracks.
	table bool
}

// hold keeps w until the callback returns and reports true; once the
// callback has returned (a goroutine it started writes), it reports false
// and the caller sends w at once. The writes are held in a slice of the
// partition, reused from message to message, so holding allocates nothing
// once it has grown.
func (m *Message) hold(w heldWrite) bool {
	p := m.p
	p.heldMu.Lock()
	defer p.heldMu.Unlock()
	if m.returned.Load() {
		return false
	}
	p.held = append(p.held, w)
	if w.table {
		// Under the lock: release reads them once the callback ended.
		m.wroteTable = true
		m.tableValue = w.data
	}
	return true
}

// endCallback marks the callback as returned: later writes are no longer
// held, so the held slice belongs to the partition goroutine again.
func (m *Message) endCallback() {
	m.p.heldMu.Lock()
	m.returned.Store(true)
	m.p.heldMu.Unlock()
}

// release ends a callback that succeeded: the row it left goes to the local
// table, then its writes are sent in the order it made them. A failed local
// write sends nothing.
func (m *Message) release() error {
	m.endCallback()
	p := m.p
	held := p.held
	defer func() {
		clear(held) // drop the references to keys and values
		p.held = held[:0]
		if cap(held) > maxKeptHeld {
			p.held = nil // one callback's burst is not kept for good
		}
	}()
	if m.wroteTable {
		if err := m.applyTable(m.tableValue); err != nil {
			return err
		}
	}
	for i := range held {
		w := &held[i]
		if w.table {
			m.writeTable(w.data, w.headers)
		} else {
			m.produce(w.topic, w.key, w.data, w.headers)
		}
	}
	return nil
}

// discard ends a callback that failed: nothing it wrote is applied or sent,
// nor anything a goroutine it started writes later.
func (m *Message) discard() {
	m.dropped.Store(true)
	m.endCallback()
	clear(m.p.held)
	m.p.held = m.p.held[:0]
}

// maxKeptHeld bounds the held slice kept between callbacks.
const maxKeptHeld = 1024
