package goka

import (
	"hash"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultHasherVectors(t *testing.T) {
	// The vectors of goka's reference: FNV-1a 32 and the partitions for 2, 8
	// and 10 partitions.
	tests := []struct {
		key         string
		hash        uint32
		n2, n8, n10 int32
	}{
		{key: "0", hash: 0x350ca8af, n2: 1, n8: 7, n10: 3},
		{key: "02", hash: 0x1fed6f27, n2: 1, n8: 7, n10: 3},
		{key: "key1", hash: 0x374a6a67, n2: 1, n8: 7, n10: 3},
		{key: "key2", hash: 0x384a6bfa, n2: 0, n8: 2, n10: 2},
		{key: "user-0", hash: 0xf6537b07, n2: 1, n8: 1, n10: 7},
		{key: "", hash: 0x811c9dc5, n2: 1, n8: 3, n10: 5},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.key), func(t *testing.T) {
			h := DefaultHasher()()
			_, err := h.Write([]byte(tt.key))
			require.NoError(t, err)
			assert.Equal(t, tt.hash, h.Sum32())

			for n, want := range map[int32]int32{2: tt.n2, 8: tt.n8, 10: tt.n10} {
				got, err := hashPartition(DefaultHasher(), tt.key, n)
				require.NoError(t, err)
				assert.Equal(t, want, got, "n=%d", n)
			}
		})
	}
}

// fixedHash is a hash.Hash32 that always sums to the same value, to reach
// hashes no short key is known to produce.
type fixedHash uint32

func (h fixedHash) Write(p []byte) (int, error) { return len(p), nil }
func (h fixedHash) Sum(b []byte) []byte         { return append(b, 0, 0, 0, 0) }
func (h fixedHash) Reset()                      {}
func (h fixedHash) Size() int                   { return 4 }
func (h fixedHash) BlockSize() int              { return 1 }
func (h fixedHash) Sum32() uint32               { return uint32(h) }

func TestHashPartitionExtremeHashes(t *testing.T) {
	// 0x80000000 is math.MinInt32: goka's reader negates it first, which
	// overflows to a negative partition. The writer must agree with us.
	for _, sum := range []uint32{0, 1, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff} {
		hasher := func() hash.Hash32 { return fixedHash(sum) }
		for n := int32(1); n <= 64; n++ {
			got, err := hashPartition(hasher, "k", n)
			require.NoError(t, err)
			want := saramaPartition(t, hasher, "k", n)
			require.Equal(t, want, got, "hash %#x n=%d", sum, n)
			require.True(t, got >= 0 && got < n, "hash %#x n=%d: partition %d out of range", sum, n, got)
		}
	}
}

func TestHashPartitionMatchesSaramaPartitioner(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 0, 32)
	for i := 0; i < 5000; i++ {
		key = key[:0]
		for range rng.IntN(32) {
			key = append(key, byte(rng.UintN(256)))
		}
		n := int32(1 + rng.IntN(64))
		got, err := hashPartition(DefaultHasher(), string(key), n)
		require.NoError(t, err)
		require.Equal(t, saramaPartition(t, DefaultHasher(), string(key), n), got, "key %q n=%d", key, n)
	}
}

func TestHashPartitionRejectsNoPartitions(t *testing.T) {
	for _, n := range []int32{0, -1} {
		_, err := hashPartition(DefaultHasher(), "key", n)
		require.ErrorIs(t, err, errNoPartitions)
		assert.Contains(t, err.Error(), `"key"`)
	}
}

// saramaPartition is the partition sarama's producer writes key to.
func saramaPartition(t *testing.T, hasher func() hash.Hash32, key string, n int32) int32 {
	t.Helper()
	p := sarama.NewCustomHashPartitioner(hasher)("topic")
	partition, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
	require.NoError(t, err)
	return partition
}
