package redis

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/internal/keyspace"
)

// WriteBatch applies b in one MULTI/EXEC transaction: Redis runs it without
// interleaving other clients' commands, so readers see none or all of it,
// and the offset, written last, never runs ahead of the data.
func (s *redisStorage) WriteBatch(b *storage.Batch) error {
	if err := s.checkOpen("write batch"); err != nil {
		return err
	}
	offset, hasOffset := b.Offset()
	if b.Len() == 0 && !hasOffset {
		return nil
	}
	ctx := context.Background()
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		q := batchQueue{ctx: ctx, pipe: p, hash: s.hash}
		// The callback cannot fail; Replay's error is always nil here.
		_ = b.Replay(func(key string, value []byte, deleted bool) error {
			q.add(key, value, deleted)
			return nil
		})
		q.flush()
		if hasOffset {
			p.HSet(ctx, s.hash, layoutField, keyspace.Version, offsetField, strconv.FormatInt(offset, 10))
		} else {
			p.HSet(ctx, s.hash, layoutField, keyspace.Version)
		}
		return nil
	})
	if err != nil {
		return s.errorf("write batch", err)
	}
	return nil
}

// batchQueue folds runs of sets into one HSET and runs of deletes into one
// HDEL, which keeps the order of operations (each run applies in order, a
// later field of one HSET winning over an earlier one) with fewer commands.
type batchQueue struct {
	ctx  context.Context
	pipe redis.Pipeliner
	hash string

	sets    []any // field, value, field, value...
	deletes []string
}

func (q *batchQueue) add(key string, value []byte, deleted bool) {
	if deleted {
		if len(q.sets) > 0 {
			q.flush()
		}
		q.deletes = append(q.deletes, keyspace.EncodeString(key))
		return
	}
	if len(q.deletes) > 0 {
		q.flush()
	}
	// value points into the batch, which stays untouched until the
	// transaction has been sent, before WriteBatch returns.
	q.sets = append(q.sets, keyspace.EncodeString(key), value)
}

// flush queues the pending run.
func (q *batchQueue) flush() {
	if len(q.sets) > 0 {
		q.pipe.HSet(q.ctx, q.hash, q.sets...)
		q.sets = nil
	}
	if len(q.deletes) > 0 {
		q.pipe.HDel(q.ctx, q.hash, q.deletes...)
		q.deletes = nil
	}
}
