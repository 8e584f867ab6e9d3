package goka

import (
	"encoding/binary"
	"hash"
)

// Murmur2Hasher returns a hash that places keys in the partitions Kafka's
// default partitioner chooses: the one of the Java client, Kafka Connect,
// Kafka Streams, librdkafka's murmur2_random and franz-go. Give it to
// WithHasher, WithEmitterHasher and WithViewHasher alike when a group's
// inputs are written by such producers, so that its table writes land in
// the partitions of its inputs.
//
// Java computes the partition as (murmur2(key) & 0x7fffffff) % n, while
// sarama's hash partitioner (and this library's reads) compute
// |int32(Sum32()) % n|. The two agree only for sums below 2^31, so Sum32
// returns murmur2 with its sign bit cleared: the value Java reduces. Sum32 is
// therefore not the raw murmur2 hash; use it for partitioning only.
func Murmur2Hasher() func() hash.Hash32 {
	return newMurmur2
}

func newMurmur2() hash.Hash32 { return new(murmur2) }

// murmur2 buffers the key: the hash mixes the key's length into its first
// step, so nothing can be computed before the last byte is written.
type murmur2 struct{ buf []byte }

// Constants of Kafka's murmur2: the seed and the mixing multiplier and shift.
const (
	murmur2Seed  uint32 = 0x9747b28c
	murmur2Mul   uint32 = 0x5bd1e995
	murmur2Shift        = 24
)

func (m *murmur2) Write(p []byte) (int, error) {
	m.buf = append(m.buf, p...)
	return len(p), nil
}

func (m *murmur2) Reset()         { m.buf = m.buf[:0] }
func (m *murmur2) Size() int      { return 4 }
func (m *murmur2) BlockSize() int { return 4 }

// Sum appends Sum32 in big-endian order, as the hash/fnv hashes do.
func (m *murmur2) Sum(b []byte) []byte { return binary.BigEndian.AppendUint32(b, m.Sum32()) }

// Sum32 returns the key's murmur2 hash with the sign bit cleared (see
// Murmur2Hasher for why).
func (m *murmur2) Sum32() uint32 { return murmur2Sum(m.buf) & 0x7fffffff }

// murmur2Sum is MurmurHash2 as Kafka's Java client computes it: 32-bit
// arithmetic wrapping around, little-endian words, Kafka's seed. Java's
// signed ints and >>> behave as Go's uint32 and >>.
func murmur2Sum(data []byte) uint32 {
	h := murmur2Seed ^ uint32(len(data))
	for len(data) >= 4 {
		k := binary.LittleEndian.Uint32(data)
		k *= murmur2Mul
		k ^= k >> murmur2Shift
		k *= murmur2Mul
		h *= murmur2Mul
		h ^= k
		data = data[4:]
	}
	switch len(data) {
	case 3:
		h ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[0])
		h *= murmur2Mul
	}
	h ^= h >> 13
	h *= murmur2Mul
	h ^= h >> 15
	return h
}
