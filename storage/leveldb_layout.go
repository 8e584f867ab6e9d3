package storage

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"

	"github.com/seed-b2c684ed/goka/storage/internal/keyspace"
)

// The metadata keys of the LevelDB backend.
var (
	offsetKey       = []byte(keyspace.OffsetKey)
	layoutKey       = []byte(keyspace.LayoutKey)
	legacyOffsetKey = []byte(keyspace.LegacyOffsetKey)
	rebuildKey      = []byte(keyspace.RebuildKey)
)

// migrationLimit is keyspace.MigrationLimit, a variable for the tests.
var migrationLimit = keyspace.MigrationLimit

// rebuildBatch bounds the deletes written at once when a store is emptied.
const rebuildBatch = 4096

// prepareLayout makes the database one in the current layout. An empty
// database gets the layout key; one that has it is left alone; one that
// holds keys without it (or with a value that is no layout version, a table
// key then) was written in the earlier layout and is migrated, or emptied
// when migrating is not safe.
func (s *levelDB) prepareLayout() (LayoutUpgrade, error) {
	version, err := s.db.Get(layoutKey, nil)
	switch {
	case err == nil && string(version) == keyspace.Version:
		return LayoutCurrent, nil
	case err == nil && bytes.HasPrefix(version, []byte(keyspace.VersionPrefix)):
		return LayoutCurrent, fmt.Errorf("store layout %q is not the layout %q this version reads: written by a newer version?", version, keyspace.Version)
	case err != nil && !errors.Is(err, leveldb.ErrNotFound):
		return LayoutCurrent, fmt.Errorf("read layout: %w", err)
	}

	it := s.db.NewIterator(nil, iterReadOptions)
	empty := !it.First()
	it.Release()
	if err := it.Error(); err != nil {
		return LayoutCurrent, fmt.Errorf("read layout: %w", err)
	}
	if empty {
		if err := s.db.Put(layoutKey, []byte(keyspace.Version), nil); err != nil {
			return LayoutCurrent, fmt.Errorf("write layout: %w", err)
		}
		return LayoutCurrent, nil
	}
	return s.upgradeLegacy()
}

// upgradeLegacy converts a database in the earlier layout: the offset moves
// from "__offset" to its metadata key and the keys that start with 0x00 get
// their escape byte, all in one write with the layout key, so that a crash
// leaves either the old store, converted again on the next open, or the new
// one. A store whose offset is not a number, or with more such keys than
// keyspace.MigrationLimit, is emptied instead.
func (s *levelDB) upgradeLegacy() (LayoutUpgrade, error) {
	pending, err := s.db.Get(rebuildKey, nil)
	switch {
	case err == nil && string(pending) == keyspace.RebuildPending:
		return s.rebuild()
	case err != nil && !errors.Is(err, leveldb.ErrNotFound):
		return LayoutCurrent, fmt.Errorf("migrate: %w", err)
	}
	var (
		offset    int64
		hasOffset bool
	)
	raw, err := s.db.Get(legacyOffsetKey, nil)
	switch {
	case err == nil:
		offset, err = strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return s.rebuild()
		}
		hasOffset = true
	case !errors.Is(err, leveldb.ErrNotFound):
		return LayoutCurrent, fmt.Errorf("migrate: read offset: %w", err)
	}

	var batch leveldb.Batch
	// Every old key goes first, then every new one: an escaped key may
	// equal another old key, which must not delete it afterwards.
	var moved [][2][]byte
	size := 0
	it := s.db.NewIterator(&util.Range{Start: []byte{0}, Limit: []byte{1}}, iterReadOptions)
	for it.Next() {
		size += len(it.Key()) + len(it.Value())
		if size > migrationLimit {
			it.Release()
			return s.rebuild()
		}
		key := append([]byte{0}, it.Key()...)
		value := append([]byte(nil), it.Value()...)
		batch.Delete(it.Key())
		moved = append(moved, [2][]byte{key, value})
	}
	it.Release()
	if err := it.Error(); err != nil {
		return LayoutCurrent, fmt.Errorf("migrate: read keys: %w", err)
	}
	for _, kv := range moved {
		batch.Put(kv[0], kv[1])
	}
	batch.Delete(legacyOffsetKey)
	if hasOffset {
		batch.Put(offsetKey, formatOffset(offset))
	}
	batch.Put(layoutKey, []byte(keyspace.Version))
	if err := s.db.Write(&batch, nil); err != nil {
		return LayoutCurrent, fmt.Errorf("migrate: %w", err)
	}
	return LayoutMigrated, nil
}

// rebuild deletes every key, offset included, then writes the layout key.
// It marks the store first, so that a crash part way, which may have deleted
// data but kept "__offset", is not migrated on the next open but emptied
// again.
func (s *levelDB) rebuild() (LayoutUpgrade, error) {
	if err := s.db.Put(rebuildKey, []byte(keyspace.RebuildPending), nil); err != nil {
		return LayoutCurrent, fmt.Errorf("empty for rebuild: %w", err)
	}
	var batch leveldb.Batch
	it := s.db.NewIterator(nil, iterReadOptions)
	for it.Next() {
		if bytes.Equal(it.Key(), rebuildKey) {
			continue
		}
		batch.Delete(it.Key())
		if batch.Len() >= rebuildBatch {
			if err := s.db.Write(&batch, nil); err != nil {
				it.Release()
				return LayoutCurrent, fmt.Errorf("empty for rebuild: %w", err)
			}
			batch.Reset()
		}
	}
	it.Release()
	if err := it.Error(); err != nil {
		return LayoutCurrent, fmt.Errorf("empty for rebuild: %w", err)
	}
	batch.Delete(rebuildKey)
	batch.Put(layoutKey, []byte(keyspace.Version))
	if err := s.db.Write(&batch, nil); err != nil {
		return LayoutCurrent, fmt.Errorf("empty for rebuild: %w", err)
	}
	return LayoutRebuilding, nil
}
