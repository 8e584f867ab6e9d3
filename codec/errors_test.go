package codec_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
)

func TestDecodeErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *codec.DecodeError
		want string
	}{
		{
			name: "no data",
			err:  &codec.DecodeError{Codec: "Int64", Expected: "decimal digits"},
			want: "codec: Int64 expects decimal digits, got no data",
		},
		{
			name: "one byte",
			err:  &codec.DecodeError{Codec: "Int64", Expected: "decimal digits", Data: []byte("x"), Size: 1},
			want: `codec: Int64 expects decimal digits, got 1 byte "x"`,
		},
		{
			name: "control bytes are quoted",
			err:  &codec.DecodeError{Codec: "Int64", Expected: "decimal digits", Data: []byte("a\x00b"), Size: 3},
			want: `codec: Int64 expects decimal digits, got 3 bytes "a\x00b"`,
		},
		{
			name: "truncated data is marked",
			err:  &codec.DecodeError{Codec: "X", Expected: "y", Data: []byte("abc"), Size: 10},
			want: `codec: X expects y, got 10 bytes "abc"...`,
		},
		{
			name: "cause is appended",
			err:  &codec.DecodeError{Codec: "X", Expected: "y", Data: []byte("z"), Size: 1, Err: io.ErrUnexpectedEOF},
			want: `codec: X expects y, got 1 byte "z": unexpected EOF`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.EqualError(t, tt.err, tt.want)
		})
	}
}

func TestDecodeErrorMatching(t *testing.T) {
	err := error(&codec.DecodeError{Codec: "X", Expected: "y", Err: io.ErrUnexpectedEOF})
	assert.ErrorIs(t, err, codec.ErrMalformed)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.NotErrorIs(t, err, codec.ErrWrongType)

	withoutCause := error(&codec.DecodeError{Codec: "X", Expected: "y"})
	assert.ErrorIs(t, withoutCause, codec.ErrMalformed)
	assert.NoError(t, errors.Unwrap(withoutCause))
}

func TestDecodeErrorKeepsBoundedCopy(t *testing.T) {
	input := []byte(strings.Repeat("z", 1000))
	_, err := new(codec.Int64).Decode(input)
	decErr := requireMalformed(t, input, nil, err)
	assert.Len(t, decErr.Data, 32)

	// The error must not alias the caller's buffer, which may be reused.
	input[0] = 'Q'
	assert.Equal(t, byte('z'), decErr.Data[0])
	assert.Equal(t,
		`codec: Int64 expects decimal digits, got 1000 bytes "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"...: invalid syntax`,
		err.Error())
}

func TestEncodeErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *codec.EncodeError
		want string
	}{
		{
			name: "wrong type",
			err:  &codec.EncodeError{Codec: "Int64", Expected: "int64", Actual: "string", Err: codec.ErrWrongType},
			want: "codec: Int64 expects int64, got string",
		},
		{
			name: "other cause",
			err:  &codec.EncodeError{Codec: "JSON[a.B]", Expected: "a.B or *a.B", Actual: "a.B", Err: io.ErrShortWrite},
			want: "codec: JSON[a.B] cannot encode a.B: short write",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.EqualError(t, tt.err, tt.want)
			assert.ErrorIs(t, tt.err, tt.err.Err)
		})
	}
}
