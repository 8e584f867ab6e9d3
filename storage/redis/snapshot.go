package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/seed-b2c684ed/goka/storage/internal/keyspace"
)

// entry is one field of a snapshot and its value.
type entry struct {
	key, value string
}

const (
	// scanCount is the COUNT hint of each HSCAN: large enough that a page
	// is worth its round trip, small enough that the server never stalls
	// on one.
	scanCount = 1024
	// watchedAttempts bounds the paged reads retried because the hash
	// changed during one, before HGETALL takes over.
	watchedAttempts = 3
)

// snapshot returns the table keys of the hash that lie in r, decoded and
// without the metadata fields, sorted by key, as they all were at one moment between the call and
// its return. The package documentation explains the three ways it tries.
func (s *redisStorage) snapshot(ctx context.Context, r keyRange) ([]entry, error) {
	match := r.matchPattern()

	// A hash that fits in one page is read by one command, consistent by
	// itself.
	page, cursor, err := s.client.HScan(ctx, s.hash, 0, match, scanCount).Result()
	if err != nil {
		return nil, fmt.Errorf("hscan: %w", err)
	}
	if cursor == 0 {
		return sortUnique(appendPage(nil, page, r)), nil
	}

	for range watchedAttempts {
		var entries []entry
		err := s.client.Watch(ctx, func(tx *redis.Tx) error {
			var err error
			entries, err = scanAll(ctx, tx, s.hash, match, r)
			if err != nil {
				return err
			}
			// EXEC fails if the hash changed after WATCH, which is what
			// tells an inconsistent read from a good one.
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Ping(ctx)
				return nil
			})
			return err
		}, s.hash)
		if err == nil {
			return entries, nil
		}
		if !errors.Is(err, redis.TxFailedErr) {
			return nil, err
		}
	}

	all, err := s.client.HGetAll(ctx, s.hash).Result()
	if err != nil {
		return nil, fmt.Errorf("hgetall: %w", err)
	}
	entries := make([]entry, 0, len(all))
	for field, value := range all {
		if keyspace.IsMetaString(field) {
			continue
		}
		if key := keyspace.DecodeString(field); r.contains(key) {
			entries = append(entries, entry{key, value})
		}
	}
	slices.SortFunc(entries, compareEntries)
	return entries, nil
}

// scanAll reads every HSCAN page of hash through tx.
func scanAll(ctx context.Context, tx *redis.Tx, hash, match string, r keyRange) ([]entry, error) {
	var (
		entries []entry
		cursor  uint64
	)
	for {
		page, next, err := tx.HScan(ctx, hash, cursor, match, scanCount).Result()
		if err != nil {
			return nil, fmt.Errorf("hscan: %w", err)
		}
		entries = appendPage(entries, page, r)
		if next == 0 {
			break
		}
		cursor = next
	}
	return sortUnique(entries), nil
}

// appendPage appends the fields of one HSCAN page (field, value, field,
// value...) that are table keys in r, decoded.
func appendPage(entries []entry, page []string, r keyRange) []entry {
	for i := 0; i+1 < len(page); i += 2 {
		if keyspace.IsMetaString(page[i]) {
			continue
		}
		if key := keyspace.DecodeString(page[i]); r.contains(key) {
			entries = append(entries, entry{key, page[i+1]})
		}
	}
	return entries
}

// sortUnique sorts entries by key and drops repeated keys: HSCAN may return
// a field twice when the hash is resized during the scan. A read that
// passed its WATCH saw no writes, so the copies carry the same value.
func sortUnique(entries []entry) []entry {
	slices.SortFunc(entries, compareEntries)
	return slices.CompactFunc(entries, func(a, b entry) bool { return a.key == b.key })
}

func compareEntries(a, b entry) int {
	return cmp.Compare(a.key, b.key)
}
