package goka

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
)

// DefaultHasher returns the hash goka maps keys to partitions with: 32-bit
// FNV-1a. It is not Kafka's Java default (murmur2), so producers outside the
// library must use the same hash for their keys to land where processors and
// views look for them; for topics such producers write, use Murmur2Hasher. A
// processor whose inputs were hashed otherwise stops with
// ErrForeignPartitioner at its first table write.
func DefaultHasher() func() hash.Hash32 {
	return fnv.New32a
}

// errNoPartitions is returned when a key is to be placed in a topic with no
// partitions; a modulo by zero would panic instead.
var errNoPartitions = errors.New("number of partitions must be positive")

// hashPartition returns the partition of key among numPartitions, exactly as
// sarama's CustomHashPartitioner picks it when the key is written: the hash is
// taken as an int32, reduced modulo n, and only then made positive. Goka's
// read side takes the absolute value first, which overflows for the hash
// 0x80000000 and yields a negative partition; reducing first never
// overflows, so reads and writes agree for every key.
func hashPartition(hasher func() hash.Hash32, key string, numPartitions int32) (int32, error) {
	if numPartitions <= 0 {
		return -1, fmt.Errorf("partition of key %q: %w (got %d)", key, errNoPartitions, numPartitions)
	}
	h := hasher()
	if _, err := h.Write([]byte(key)); err != nil {
		return -1, fmt.Errorf("hashing key %q: %w", key, err)
	}
	partition := int32(h.Sum32()) % numPartitions
	if partition < 0 {
		partition = -partition
	}
	return partition, nil
}
