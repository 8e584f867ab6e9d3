package keyspace

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomKey draws keys rich in the bytes the encoding cares about.
func randomKey(r *rand.Rand) string {
	alphabet := []byte{0x00, 0x01, 0x02, 'a', 0xff}
	b := make([]byte, r.Intn(5))
	for i := range b {
		b[i] = alphabet[r.Intn(len(alphabet))]
	}
	return string(b)
}

func TestEncodingKeepsOrderAndRoundTrips(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for range 20000 {
		a, b := randomKey(r), randomKey(r)
		ea, eb := Encode(a), Encode(b)
		require.Equal(t, bytes.Compare([]byte(a), []byte(b)), bytes.Compare(ea, eb), "order of %q and %q", a, b)
		require.False(t, IsMeta(ea), "%q encodes to metadata", a)
		require.False(t, IsMetaString(EncodeString(a)))
		require.Equal(t, a, string(Decode(ea)))
		require.Equal(t, a, DecodeString(EncodeString(a)))
		require.Equal(t, string(ea), EncodeString(a))
	}
}

func TestMetadataKeys(t *testing.T) {
	for _, k := range []string{LayoutKey, OffsetKey, RebuildKey, "\x00", "\x00\xff"} {
		assert.True(t, IsMeta([]byte(k)), "%q", k)
		assert.True(t, IsMetaString(k), "%q", k)
	}
	assert.Nil(t, EncodeBound(nil), "no bound stays no bound")
	assert.Equal(t, []byte("\x00\x00\x01"), EncodeBound([]byte("\x00\x01")))
}
