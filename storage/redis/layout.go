package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/internal/keyspace"
)

// migrationLimit is keyspace.MigrationLimit, a variable for the tests.
var migrationLimit = keyspace.MigrationLimit

// layoutAttempts bounds the conversions retried because the hash changed
// while one was read.
const layoutAttempts = 5

// prepareLayout converts a hash in the earlier layout: one that holds fields
// but no layout field. A hash that has it, or that does not exist, is left
// alone; writes add the layout field. The conversion runs under WATCH, so
// that a concurrent writer makes it start over rather than mix layouts.
func (s *redisStorage) prepareLayout(ctx context.Context) (storage.LayoutUpgrade, error) {
	for range layoutAttempts {
		upgrade := storage.LayoutCurrent
		err := s.client.Watch(ctx, func(tx *redis.Tx) error {
			version, err := tx.HGet(ctx, s.hash, layoutField).Result()
			switch {
			case err == nil && version == keyspace.Version:
				return nil
			case err == nil && strings.HasPrefix(version, keyspace.VersionPrefix):
				return fmt.Errorf("hash layout %q is not the layout %q this version reads: written by a newer version?", version, keyspace.Version)
			case err != nil && !errors.Is(err, redis.Nil):
				return fmt.Errorf("read layout: %w", err)
			}
			n, err := tx.HLen(ctx, s.hash).Result()
			if err != nil {
				return fmt.Errorf("read layout: %w", err)
			}
			if n == 0 {
				return nil
			}
			upgrade, err = s.upgradeLegacy(ctx, tx)
			return err
		}, s.hash)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return upgrade, err
	}
	return storage.LayoutCurrent, errors.New("convert the earlier layout: the hash kept changing during the conversion")
}

// upgradeLegacy converts a hash in the earlier layout within one MULTI/EXEC:
// the offset moves from "__offset" to its metadata field and the fields that
// start with 0x00 get their escape byte. A hash whose offset is not a number,
// or with more such fields than migrationLimit, is deleted instead, so that
// recovery rebuilds it from the topic.
func (s *redisStorage) upgradeLegacy(ctx context.Context, tx *redis.Tx) (storage.LayoutUpgrade, error) {
	raw, err := tx.HGet(ctx, s.hash, keyspace.LegacyOffsetKey).Result()
	hasOffset := err == nil
	if err != nil && !errors.Is(err, redis.Nil) {
		return storage.LayoutCurrent, fmt.Errorf("migrate: read offset: %w", err)
	}
	rebuild := false
	if hasOffset {
		if _, err := strconv.ParseInt(raw, 10, 64); err != nil {
			rebuild = true
		}
	}
	var moved map[string]string
	if !rebuild {
		moved, rebuild, err = s.zeroFields(ctx, tx)
		if err != nil {
			return storage.LayoutCurrent, fmt.Errorf("migrate: %w", err)
		}
	}
	_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if rebuild {
			p.Del(ctx, s.hash)
			return nil
		}
		// Every old field goes first, then every new one: an escaped field
		// may equal another old field, which must not delete it afterwards.
		old := make([]string, 0, len(moved)+1)
		sets := make([]any, 0, 2*len(moved)+4)
		for field, value := range moved {
			old = append(old, field)
			sets = append(sets, "\x00"+field, value)
		}
		old = append(old, keyspace.LegacyOffsetKey)
		p.HDel(ctx, s.hash, old...)
		sets = append(sets, layoutField, keyspace.Version)
		if hasOffset {
			sets = append(sets, offsetField, raw)
		}
		p.HSet(ctx, s.hash, sets...)
		return nil
	})
	switch {
	case err != nil:
		return storage.LayoutCurrent, err
	case rebuild:
		return storage.LayoutRebuilding, nil
	}
	return storage.LayoutMigrated, nil
}

// zeroFields reads the fields that start with 0x00 and their values, or
// reports that they are too many to migrate.
func (s *redisStorage) zeroFields(ctx context.Context, tx *redis.Tx) (fields map[string]string, tooMany bool, err error) {
	fields = map[string]string{}
	size := 0
	var cursor uint64
	for {
		page, next, err := tx.HScan(ctx, s.hash, cursor, "\x00*", scanCount).Result()
		if err != nil {
			return nil, false, fmt.Errorf("hscan: %w", err)
		}
		for i := 0; i+1 < len(page); i += 2 {
			if _, seen := fields[page[i]]; seen {
				continue
			}
			fields[page[i]] = page[i+1]
			size += len(page[i]) + len(page[i+1])
			if size > migrationLimit {
				return nil, true, nil
			}
		}
		if next == 0 {
			return fields, false, nil
		}
		cursor = next
	}
}
