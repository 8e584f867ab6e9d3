package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/internal/keyspace"
)

// The metadata fields of a partition's hash, for tools that read a hash
// directly. No table key is stored under a field that starts with 0x00 0x01,
// so they never collide with data.
const (
	// OffsetField holds the partition offset as decimal text.
	OffsetField = keyspace.OffsetKey
	// LayoutField holds the layout version. Every write sets it again, so
	// that a hash holding data of this layout always says so, even one
	// deleted and recreated meanwhile.
	LayoutField = keyspace.LayoutKey
)

// Short names for this package's own use.
const (
	offsetField = OffsetField
	layoutField = LayoutField
)

// redisStorage is one partition kept in the Redis hash named hash. Its only
// mutable state is the closed flag, so any number of goroutines may use it.
type redisStorage struct {
	client *redis.Client
	hash   string
	closed atomic.Bool
	// upgrade is what New did to a hash in an earlier layout.
	upgrade storage.LayoutUpgrade
}

// New returns a storage kept in the Redis hash named hash. It pings the
// server first, so that a wrong address fails here rather than at the first
// write. A hash written in the earlier layout, with the offset in the field
// "__offset" (by goka, or by earlier versions), is migrated or deleted for a
// rebuild first; LayoutUpgrade on the result says which. The storage does
// not take over client: Close leaves it open.
func New(client *redis.Client, hash string) (storage.Storage, error) {
	if client == nil {
		return nil, errors.New("redis storage: nil client")
	}
	if hash == "" {
		return nil, errors.New("redis storage: empty hash name")
	}
	if err := client.Ping(context.Background()).Err(); err != nil {
		return nil, fmt.Errorf("redis storage: ping: %w", err)
	}
	s := &redisStorage{client: client, hash: hash}
	upgrade, err := s.prepareLayout(context.Background())
	if err != nil {
		return nil, s.errorf("open", err)
	}
	s.upgrade = upgrade
	return s, nil
}

// LayoutUpgrade reports what New did to a hash in an earlier layout.
func (s *redisStorage) LayoutUpgrade() storage.LayoutUpgrade {
	return s.upgrade
}

// RedisBuilder returns a Builder that keeps each partition in the Redis hash
// "<namespace>:<topic>:<partition>". The namespace keeps the tables of
// different applications on one server apart, so it is required: the Builder
// fails when it is empty, as goka's does.
func RedisBuilder(client *redis.Client, namespace string) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		if namespace == "" {
			return nil, errors.New("redis storage: missing namespace")
		}
		return New(client, hashName(namespace, topic, partition))
	}
}

// hashName is the hash of one partition; the partition number comes last,
// so that names of different topics cannot collide.
func hashName(namespace, topic string, partition int32) string {
	return fmt.Sprintf("%s:%s:%d", namespace, topic, partition)
}

// errorf names the hash and the operation in err, which it wraps.
func (s *redisStorage) errorf(op string, err error) error {
	return fmt.Errorf("redis storage %s: %s: %w", s.hash, op, err)
}

// checkOpen returns the error every operation returns after Close.
func (s *redisStorage) checkOpen(op string) error {
	if s.closed.Load() {
		return s.errorf(op, storage.ErrClosed)
	}
	return nil
}

// Open does nothing: New has checked the connection already.
func (s *redisStorage) Open() error {
	return s.checkOpen("open")
}

// Close marks the storage closed. The hash stays on the server and the
// client stays open for the other partitions that share it.
func (s *redisStorage) Close() error {
	s.closed.Store(true)
	return nil
}

// Has asks HEXISTS, so that an empty value counts as present.
func (s *redisStorage) Has(key string) (bool, error) {
	if err := s.checkOpen("has"); err != nil {
		return false, err
	}
	ok, err := s.client.HExists(context.Background(), s.hash, keyspace.EncodeString(key)).Result()
	if err != nil {
		return false, s.errorf("has", err)
	}
	return ok, nil
}

// Get reads a field with one HGET, where goka asks HEXISTS first: the reply
// already tells a missing field (nil) from an empty one.
func (s *redisStorage) Get(key string) ([]byte, error) {
	if err := s.checkOpen("get"); err != nil {
		return nil, err
	}
	value, err := s.client.HGet(context.Background(), s.hash, keyspace.EncodeString(key)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.errorf("get", err)
	}
	return []byte(value), nil
}

// Set stores value in the field key; a nil value stores an empty string.
func (s *redisStorage) Set(key string, value []byte) error {
	if err := s.checkOpen("set"); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	err := s.client.HSet(context.Background(), s.hash, layoutField, keyspace.Version, keyspace.EncodeString(key), value).Err()
	if err != nil {
		return s.errorf("set", err)
	}
	return nil
}

// Delete removes the field key.
func (s *redisStorage) Delete(key string) error {
	if err := s.checkOpen("delete"); err != nil {
		return err
	}
	if err := s.client.HDel(context.Background(), s.hash, keyspace.EncodeString(key)).Err(); err != nil {
		return s.errorf("delete", err)
	}
	return nil
}

// GetOffset reads the offset field.
func (s *redisStorage) GetOffset(def int64) (int64, error) {
	if err := s.checkOpen("get offset"); err != nil {
		return 0, err
	}
	raw, err := s.client.HGet(context.Background(), s.hash, offsetField).Result()
	if errors.Is(err, redis.Nil) {
		return def, nil
	}
	if err != nil {
		return 0, s.errorf("get offset", err)
	}
	offset, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, s.errorf("get offset", fmt.Errorf("malformed stored offset %q: %w", raw, err))
	}
	return offset, nil
}

// SetOffset writes the offset field; it is as durable as the server's
// persistence makes any write.
func (s *redisStorage) SetOffset(offset int64) error {
	if err := s.checkOpen("set offset"); err != nil {
		return err
	}
	err := s.client.HSet(context.Background(), s.hash, layoutField, keyspace.Version, offsetField, strconv.FormatInt(offset, 10)).Err()
	if err != nil {
		return s.errorf("set offset", err)
	}
	return nil
}

// MarkRecovered does nothing: Redis has no bulk-loading mode to leave.
func (s *redisStorage) MarkRecovered() error {
	return s.checkOpen("mark recovered")
}

// Iterator iterates over every key.
func (s *redisStorage) Iterator() (storage.Iterator, error) {
	return s.iterator("iterator", nil, nil)
}

// IteratorWithRange iterates over [start, limit), or over the keys with
// prefix start when limit is empty.
func (s *redisStorage) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	return s.iterator("iterator with range", start, limit)
}

func (s *redisStorage) iterator(op string, start, limit []byte) (storage.Iterator, error) {
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	r := newKeyRange(start, limit)
	if r.empty() {
		return &iterator{pos: -1}, nil
	}
	entries, err := s.snapshot(context.Background(), r)
	if err != nil {
		return nil, s.errorf(op, err)
	}
	return &iterator{entries: entries, pos: -1}, nil
}
