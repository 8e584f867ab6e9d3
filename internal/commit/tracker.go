// Package commit decides which offset of a topic-partition may be committed.
//
// Messages of one partition finish out of order: a message whose emits go to a
// fast broker completes before an earlier one whose emits go to a slow one.
// Committing whatever finished last (as goka does with MarkOffset) can move
// the committed offset past a message that later fails, which then is never
// processed again. A Tracker only ever releases the offset after the longest
// run of completed messages from the front, so the committed offset never
// passes a message that has not completed.
//
// The flip side is that one message that never completes (a deferred commit
// never released) holds the partition's commits back for ever. A Watch keeps
// the deferred commits not released, so that their age can be measured and
// warned about.
package commit

import "sync"

// Tracker orders the completions of the messages of one topic-partition. Start
// is called by the partition's goroutine in offset order; Done may be called
// from any goroutine.
type Tracker struct {
	mu sync.Mutex
	// ring holds the pending messages from head to head+count-1, by sequence.
	ring  []slot
	head  int    // index in ring of the oldest pending message
	count int    // number of pending messages
	seq   uint64 // sequence number of ring[head]
}

type slot struct {
	offset int64
	done   bool
}

// Ticket identifies a started message.
type Ticket uint64

// Start registers the message at offset, which must be greater than that of
// every message started before.
func (t *Tracker) Start(offset int64) Ticket {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.count == len(t.ring) {
		t.grow()
	}
	t.ring[(t.head+t.count)%len(t.ring)] = slot{offset: offset}
	ticket := Ticket(t.seq + uint64(t.count))
	t.count++
	return ticket
}

func (t *Tracker) grow() {
	size := 2 * len(t.ring)
	if size == 0 {
		size = 16
	}
	ring := make([]slot, size)
	for i := 0; i < t.count; i++ {
		ring[i] = t.ring[(t.head+i)%len(t.ring)]
	}
	t.ring, t.head = ring, 0
}

// Done marks a message completed. It returns the offset to commit (the offset
// after the last message of the completed run at the front) and true when
// that offset moved, false otherwise.
func (t *Tracker) Done(ticket Ticket) (next int64, moved bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := uint64(ticket) - t.seq
	if uint64(ticket) < t.seq || i >= uint64(t.count) {
		return 0, false // already released: Done called twice
	}
	t.ring[(t.head+int(i))%len(t.ring)].done = true
	for t.count > 0 && t.ring[t.head].done {
		next, moved = t.ring[t.head].offset+1, true
		t.head = (t.head + 1) % len(t.ring)
		t.count--
		t.seq++
	}
	return next, moved
}

// Pending returns the number of started messages not yet released.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count
}
