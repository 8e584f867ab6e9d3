package table

import (
	"errors"
	"fmt"

	"github.com/seed-b2c684ed/goka/storage"
)

// errOwnedByPartition is what an Update gets for operations the partition
// keeps for itself.
var errOwnedByPartition = errors.New("table: update may not close the store or set its offset")

// batchStorage is the storage an Update writes to: writes go into a batch
// that the partition writes out with the offset of the batch's last record,
// so that the stored offset never runs ahead of the data.
//
// Reads must see the batch's writes. Keeping an index for that would cost a
// map insert per record on the hot path, and the default update never
// reads, so the overlay index is built only when the first read of a batch
// comes, and kept up to date from then on until the batch is written.
type batchStorage struct {
	st    storage.Storage
	batch storage.Batch
	bytes int // keys and values buffered, for MaxBatchBytes

	// overlay holds the batch's writes by key once a read asked for them;
	// nil until then.
	overlay map[string]overlayEntry

	// settle, when set, waits until the batch handed to the writer before
	// this one is in the store: a read of the store, or a write around the
	// batches, must come after it.
	settle func() error
}

// settled waits for the batch in flight, if any.
func (b *batchStorage) settled() error {
	if b.settle == nil {
		return nil
	}
	return b.settle()
}

// overlayEntry is the last write of a key in the current batch.
type overlayEntry struct {
	value   []byte // an owned copy; never nil for a set
	deleted bool
}

var _ storage.Storage = (*batchStorage)(nil)

// reset forgets the buffered writes after they were written or dropped.
func (b *batchStorage) reset() {
	b.batch.Reset()
	b.bytes = 0
	b.overlay = nil
}

// Set buffers a set.
func (b *batchStorage) Set(key string, value []byte) error {
	b.batch.Set(key, value)
	b.bytes += len(key) + len(value)
	if b.overlay != nil {
		b.overlay[key] = overlayEntry{value: append([]byte{}, value...)}
	}
	return nil
}

// Delete buffers a delete.
func (b *batchStorage) Delete(key string) error {
	b.batch.Delete(key)
	b.bytes += len(key)
	if b.overlay != nil {
		b.overlay[key] = overlayEntry{deleted: true}
	}
	return nil
}

// lookup returns the batch's last write of key, indexing the batch first if
// this is its first read.
func (b *batchStorage) lookup(key string) (overlayEntry, bool) {
	if b.overlay == nil {
		b.overlay = make(map[string]overlayEntry)
		// The callback never fails.
		_ = b.batch.Replay(func(k string, value []byte, deleted bool) error {
			if deleted {
				b.overlay[k] = overlayEntry{deleted: true}
			} else {
				b.overlay[k] = overlayEntry{value: append([]byte{}, value...)}
			}
			return nil
		})
	}
	e, ok := b.overlay[key]
	return e, ok
}

// Get returns the batch's value of key, or the store's when the batch has
// not written key.
func (b *batchStorage) Get(key string) ([]byte, error) {
	if e, ok := b.lookup(key); ok {
		if e.deleted {
			return nil, nil
		}
		return append([]byte{}, e.value...), nil
	}
	if err := b.settled(); err != nil {
		return nil, err
	}
	return b.st.Get(key)
}

// Has is Get's counterpart.
func (b *batchStorage) Has(key string) (bool, error) {
	if e, ok := b.lookup(key); ok {
		return !e.deleted, nil
	}
	if err := b.settled(); err != nil {
		return false, err
	}
	return b.st.Has(key)
}

// writeData writes the buffered data without an offset, so that an
// iterator sees it. Data ahead of the stored offset is safe: after a crash
// the records are applied again.
func (b *batchStorage) writeData() error {
	if err := b.settled(); err != nil {
		return err
	}
	if b.batch.Len() == 0 {
		return nil
	}
	if err := storage.WriteBatch(b.st, &b.batch); err != nil {
		return fmt.Errorf("table: write batch before iterating: %w", err)
	}
	b.reset()
	return nil
}

// Iterator writes the buffered data out first so the iterator sees it.
func (b *batchStorage) Iterator() (storage.Iterator, error) {
	if err := b.writeData(); err != nil {
		return nil, err
	}
	return b.st.Iterator()
}

// IteratorWithRange writes the buffered data out first so the iterator sees
// it.
func (b *batchStorage) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	if err := b.writeData(); err != nil {
		return nil, err
	}
	return b.st.IteratorWithRange(start, limit)
}

// GetOffset returns the offset of the last batch written.
func (b *batchStorage) GetOffset(def int64) (int64, error) {
	if err := b.settled(); err != nil {
		return 0, err
	}
	return b.st.GetOffset(def)
}

// SetOffset is refused: the partition writes offsets with their batches.
func (b *batchStorage) SetOffset(int64) error {
	return fmt.Errorf("set offset: %w", errOwnedByPartition)
}

// Open does nothing: the store is open.
func (b *batchStorage) Open() error { return nil }

// Close is refused: the partition owns the store.
func (b *batchStorage) Close() error { return fmt.Errorf("close: %w", errOwnedByPartition) }

// MarkRecovered does nothing; the partition calls it on the store.
func (b *batchStorage) MarkRecovered() error { return nil }
