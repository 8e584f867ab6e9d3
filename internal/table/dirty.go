package table

import (
	"context"

	"github.com/seed-b2c684ed/goka/storage"
)

// DirtyOffset is the offset an active processor stores while it runs. It
// writes its table locally before Kafka acknowledges the write, so after a
// crash the store may hold values the topic never received; restoring from
// the stored offset would keep them, and the input that caused them, not
// committed, would then be applied a second time on top. A store found with
// this offset is therefore emptied and restored from the oldest offset. A
// clean stop stores the real offset again. goka has no such guard.
const DirtyOffset = -100

// wipeBatch bounds the deletes written at once when a store is emptied.
const wipeBatch = 4096

// MarkDirty stores DirtyOffset and returns the offset it replaces, which the
// caller stores again on a clean stop (noOffset when none was stored). The
// caller writes the store itself from now on, so a consumer Recover kept
// for a Follow (Config.KeepConsumer) is closed.
func (p *Partition) MarkDirty() (int64, error) {
	p.releaseParked()
	st := p.Storage()
	if st == nil {
		return 0, p.errorf("mark dirty: %w", ErrClosed)
	}
	prev, err := st.GetOffset(noOffset)
	if err != nil {
		return 0, p.errorf("mark dirty: read stored offset: %w", err)
	}
	if err := st.SetOffset(DirtyOffset); err != nil {
		return 0, p.errorf("mark dirty: %w", err)
	}
	return prev, nil
}

// wipe deletes every key of st, in bounded batches, through one snapshot
// iterator: the deletes do not move it, and it never walks past the
// tombstones of earlier batches again, which made emptying a LevelDB store
// quadratic in its size. The offset stays DirtyOffset until the restore that
// follows writes its first batch, so a crash or a stop in between (ctx
// ending, Close) leaves a store that is emptied again at the next start.
func (p *Partition) wipe(ctx context.Context, st storage.Storage) (err error) {
	p.cfg.Logf("table: topic %q partition %d: the store was not closed cleanly by the processor that wrote it; emptying it and restoring from the topic",
		p.cfg.Topic, p.cfg.Partition)
	it, err := st.Iterator()
	if err != nil {
		return p.errorf("empty dirty store: %w", err)
	}
	defer it.Release()
	var b storage.Batch
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		if err := storage.WriteBatch(st, &b); err != nil {
			return p.errorf("empty dirty store: %w", err)
		}
		b.Reset()
		if ctx.Err() != nil || p.isClosed() {
			return p.stopError(ctx, "empty dirty store", errStopped)
		}
		return nil
	}
	for it.Next() {
		b.Delete(string(it.Key()))
		if b.Len() >= wipeBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := it.Err(); err != nil {
		return p.errorf("empty dirty store: %w", err)
	}
	return flush()
}
