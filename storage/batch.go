package storage

import "fmt"

// Batch collects sets, deletes and an optional new offset so that they can be
// applied together. Recovery uses it to write many table records and the
// offset after them in one step, so that a crash never leaves a storage
// whose offset is ahead of its data.
//
// The zero Batch is empty and ready to use. Values are copied into one
// buffer owned by the batch; Reset keeps that buffer for the next round. A
// Batch is not safe for concurrent use.
type Batch struct {
	ops       []batchOp
	values    []byte
	offset    int64
	hasOffset bool
}

// batchOp is one set or delete; a set's value is values[start:end].
type batchOp struct {
	key        string
	start, end int
	deleted    bool
}

// Set records that key is to be set to a copy of value. A nil value stores
// an empty value, as Storage.Set does.
func (b *Batch) Set(key string, value []byte) {
	start := len(b.values)
	b.values = append(b.values, value...)
	b.ops = append(b.ops, batchOp{key: key, start: start, end: len(b.values)})
}

// Delete records that key is to be deleted.
func (b *Batch) Delete(key string) {
	b.ops = append(b.ops, batchOp{key: key, deleted: true})
}

// SetOffset records the offset to store together with the batch's data. The
// last call wins.
func (b *Batch) SetOffset(offset int64) {
	b.offset = offset
	b.hasOffset = true
}

// Offset returns the offset recorded with SetOffset and whether there is one.
func (b *Batch) Offset() (offset int64, ok bool) {
	return b.offset, b.hasOffset
}

// Len returns the number of sets and deletes in the batch; the offset does
// not count.
func (b *Batch) Len() int {
	return len(b.ops)
}

// Reset empties the batch and keeps its buffers for reuse.
func (b *Batch) Reset() {
	clear(b.ops) // drop key references so the strings can be collected
	b.ops = b.ops[:0]
	b.values = b.values[:0]
	b.offset = 0
	b.hasOffset = false
}

// emptyValue is what Replay passes for an empty set, so that a set can always
// be told apart from a delete by its value too.
var emptyValue = []byte{}

// Replay calls fn for each set and delete in the order they were recorded,
// and stops at the first error, which it returns unchanged. For a set, value
// is non-nil and deleted is false; for a delete, value is nil and deleted is
// true. value points into the batch's buffer: it is valid until the batch is
// next modified and must not be modified. Replay does not report the offset;
// custom BatchWriters read it with Offset.
func (b *Batch) Replay(fn func(key string, value []byte, deleted bool) error) error {
	for _, op := range b.ops {
		var value []byte
		if !op.deleted {
			value = b.values[op.start:op.end:op.end]
			if len(value) == 0 {
				value = emptyValue
			}
		}
		if err := fn(op.key, value, op.deleted); err != nil {
			return err
		}
	}
	return nil
}

// BatchWriter is implemented by storages that can apply a Batch in one atomic
// write: readers and a crash see either none or all of its sets, deletes and
// offset.
type BatchWriter interface {
	// WriteBatch applies b. It does not modify or retain b.
	WriteBatch(b *Batch) error
}

// WriteBatch applies b to st: atomically when st implements BatchWriter,
// otherwise one operation at a time with the offset written last, so that
// even then the stored offset never runs ahead of the data.
func WriteBatch(st Storage, b *Batch) error {
	if bw, ok := st.(BatchWriter); ok {
		return bw.WriteBatch(b)
	}
	err := b.Replay(func(key string, value []byte, deleted bool) error {
		if deleted {
			return st.Delete(key)
		}
		return st.Set(key, value)
	})
	if err != nil {
		return fmt.Errorf("storage: write batch: %w", err)
	}
	if offset, ok := b.Offset(); ok {
		if err := st.SetOffset(offset); err != nil {
			return fmt.Errorf("storage: write batch offset: %w", err)
		}
	}
	return nil
}
