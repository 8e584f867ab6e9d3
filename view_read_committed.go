package goka

import "github.com/seed-b2c684ed/goka/internal/table"

// WithViewReadCommitted makes the view read its table with read_committed:
// it shows only the writes of committed transactions, so a table written by
// an exactly-once processor (WithExactlyOnce) shows nothing of an aborted
// transaction, and its rows appear once the writer's transaction commits (up
// to one commit interval late). The restore skips the transaction markers
// and the aborted records, which its gap check proves hold no committed
// data. The library's consumer builders set Consumer.IsolationLevel for the
// view; a builder of your own must set sarama.ReadCommitted itself.
//
// Off by default: a view cannot know whether its table's writer is
// transactional, and off, it reads every table as goka does; on a table
// without transactions both levels read the same records. Turn it on for a
// table written by an exactly-once processor. A processor's lookup tables
// read with read_committed when the processor has WithExactlyOnce.
func WithViewReadCommitted() ViewOption {
	return func(o *voptions, t Table, c Codec) { o.readCommitted = true }
}

// applyReadCommitted routes the view's consumer through read_committed.
func (o *voptions) applyReadCommitted() {
	if o.readCommitted {
		o.builders.consumerSarama = readCommittedConsumer(o.builders.consumerSarama)
	}
}

// gapCheck is the check of the gaps the view's restores meet, reading the
// batches with the view's isolation level.
func (v *View) gapCheck(tm TopicManager) table.GapCheck {
	if v.opts.readCommitted {
		return readCommittedGapCheck(tm)
	}
	return table.GapCheckOf(tm)
}
