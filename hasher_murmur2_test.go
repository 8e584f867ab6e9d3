package goka

import (
	"strconv"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMurmur2JavaVectors checks the raw hash against the values the Java
// client's Utils.murmur2 returns: Kafka's own unit test vectors, and more
// short keys whose values other Kafka-compatible clients pin.
func TestMurmur2JavaVectors(t *testing.T) {
	for _, tt := range []struct {
		key  string
		java int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
		{"1", -1993445489},
		{"12", 126087238},
		{"123", -267702483},
		{"1234", -1614185708},
		{"12345", -1188365604},
	} {
		t.Run(strconv.Quote(tt.key), func(t *testing.T) {
			assert.Equal(t, tt.java, int32(murmur2Sum([]byte(tt.key))))

			h := Murmur2Hasher()()
			_, err := h.Write([]byte(tt.key))
			require.NoError(t, err)
			assert.Equal(t, javaPositive(tt.java), h.Sum32(), "Sum32 is the hash Java reduces")
		})
	}
}

// TestMurmur2PartitionsAsJava compares, for many keys, the partition Java's
// formula gives with the ones this library's read side and sarama's
// producer compute from Murmur2Hasher; the keys include hashes with the
// sign bit set, where a raw Sum32 would make sarama choose otherwise.
func TestMurmur2PartitionsAsJava(t *testing.T) {
	negatives := 0
	for i := 0; i < 5000; i++ {
		key := "user-" + strconv.Itoa(i)
		raw := murmur2Sum([]byte(key))
		if int32(raw) < 0 {
			negatives++
		}
		for _, n := range []int32{1, 3, 7, 10, 12, 64} {
			java := int32(raw&0x7fffffff) % n

			got, err := hashPartition(Murmur2Hasher(), key, n)
			require.NoError(t, err)
			require.Equal(t, java, got, "key %q, %d partitions", key, n)

			part := sarama.NewCustomHashPartitioner(Murmur2Hasher())("t")
			chose, err := part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
			require.NoError(t, err)
			require.Equal(t, java, chose, "sarama: key %q, %d partitions", key, n)
		}
	}
	assert.Greater(t, negatives, 1000, "keys with a negative murmur2 are covered")
}

// TestMurmur2Reuse writes in pieces and resets: sarama's partitioner keeps
// one hash and resets it between keys.
func TestMurmur2Reuse(t *testing.T) {
	h := Murmur2Hasher()()
	_, _ = h.Write([]byte("foo"))
	_, _ = h.Write([]byte("bar"))
	assert.Equal(t, javaPositive(-790332482), h.Sum32())
	sum := h.Sum32()
	assert.Equal(t, []byte{0xff, byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)}, h.Sum([]byte{0xff}))
	h.Reset()
	_, _ = h.Write([]byte("21"))
	assert.Equal(t, javaPositive(-973932308), h.Sum32())
	assert.Equal(t, 4, h.Size())
}

// javaPositive is Java's Utils.toPositive: the hash with its sign bit cleared.
func javaPositive(h int32) uint32 { return uint32(h & 0x7fffffff) }
