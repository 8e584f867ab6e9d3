package codec_test

import (
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBytesEncode(t *testing.T) {
	tests := []struct {
		name    string
		value   any
		want    []byte
		wantErr string
	}{
		{name: "bytes pass through", value: []byte("a\x00\xff"), want: []byte("a\x00\xff")},
		{name: "empty", value: []byte{}, want: []byte{}},
		{name: "nil slice", value: []byte(nil), want: nil},
		{name: "string is wrong", value: "abc", wantErr: "codec: Bytes expects []byte, got string"},
		{name: "nil is wrong", value: nil, wantErr: "codec: Bytes expects []byte, got <nil>"},
		{name: "pointer is wrong", value: &[]byte{1}, wantErr: "codec: Bytes expects []byte, got *[]uint8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := new(codec.Bytes).Encode(tt.value)
			if tt.wantErr != "" {
				requireWrongType(t, data, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, data)
		})
	}
}

func TestBytesDecode(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{name: "bytes", data: []byte("a\x00\xff")},
		{name: "empty", data: []byte{}},
		{name: "nil", data: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, err := new(codec.Bytes).Decode(tt.data)
			require.NoError(t, err)
			require.IsType(t, []byte(nil), value)
			assert.Equal(t, tt.data, value)
		})
	}
}

func TestBytesDecodeDoesNotCopy(t *testing.T) {
	data := []byte("abc")
	value, err := new(codec.Bytes).Decode(data)
	require.NoError(t, err)
	data[0] = 'X'
	assert.Equal(t, []byte("Xbc"), value)
}

func FuzzBytes(f *testing.F) {
	f.Add([]byte(nil))
	f.Add([]byte{})
	f.Add([]byte("hello"))
	f.Add([]byte("\x00\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := new(codec.Bytes)
		value, err := c.Decode(data)
		require.NoError(t, err)
		encoded, err := c.Encode(value)
		require.NoError(t, err)
		assert.Equal(t, data, encoded)
		again, err := c.Decode(encoded)
		require.NoError(t, err)
		assert.Equal(t, value, again)
	})
}
