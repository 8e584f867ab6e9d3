package codec_test

import (
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStringEncode(t *testing.T) {
	tests := []struct {
		name    string
		value   any
		want    []byte
		wantErr string
	}{
		{name: "ascii", value: "hello", want: []byte("hello")},
		{name: "utf-8 has no prefix or terminator", value: "grüß", want: []byte("gr\xc3\xbc\xc3\x9f")},
		{name: "empty", value: "", want: []byte{}},
		{name: "bytes are wrong", value: []byte("hello"), wantErr: "codec: String expects string, got []uint8"},
		{name: "int is wrong", value: 7, wantErr: "codec: String expects string, got int"},
		{name: "nil is wrong", value: nil, wantErr: "codec: String expects string, got <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := new(codec.String).Encode(tt.value)
			if tt.wantErr != "" {
				requireWrongType(t, data, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, data)
		})
	}
}

func TestStringDecode(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{name: "ascii", data: []byte("hello"), want: "hello"},
		{name: "invalid utf-8 is kept", data: []byte("\xff\x00"), want: "\xff\x00"},
		{name: "empty", data: []byte{}, want: ""},
		{name: "nil", data: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, err := new(codec.String).Decode(tt.data)
			require.NoError(t, err)
			assert.Equal(t, tt.want, value)
		})
	}
}

func FuzzString(f *testing.F) {
	f.Add([]byte(nil))
	f.Add([]byte(""))
	f.Add([]byte("hello"))
	f.Add([]byte("grüß \U0001F600"))
	f.Add([]byte("\xff\xfe\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := new(codec.String)
		value, err := c.Decode(data)
		require.NoError(t, err)
		encoded, err := c.Encode(value)
		require.NoError(t, err)
		assert.Equal(t, string(data), string(encoded))
		again, err := c.Decode(encoded)
		require.NoError(t, err)
		assert.Equal(t, value, again)
	})
}
