package codec_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInt64WireFormat pins goka's format: decimal ASCII, never binary.
func TestInt64WireFormat(t *testing.T) {
	tests := []struct {
		value int64
		wire  string
	}{
		{0, "0"},
		{1, "1"},
		{-42, "-42"},
		{1234567890, "1234567890"},
		{math.MaxInt64, "9223372036854775807"},
		{math.MinInt64, "-9223372036854775808"},
	}
	c := new(codec.Int64)
	for _, tt := range tests {
		t.Run(tt.wire, func(t *testing.T) {
			data, err := c.Encode(tt.value)
			require.NoError(t, err)
			assert.Equal(t, tt.wire, string(data))

			value, err := c.Decode([]byte(tt.wire))
			require.NoError(t, err)
			assert.Equal(t, tt.value, value)
		})
	}
}

func TestInt64EncodeWrongType(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{name: "string", value: "42", want: "codec: Int64 expects int64, got string"},
		{name: "int", value: 42, want: "codec: Int64 expects int64, got int"},
		{name: "int32", value: int32(42), want: "codec: Int64 expects int64, got int32"},
		{name: "pointer", value: new(int64), want: "codec: Int64 expects int64, got *int64"},
		{name: "nil", value: nil, want: "codec: Int64 expects int64, got <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := new(codec.Int64).Encode(tt.value)
			requireWrongType(t, data, err, tt.want)
		})
	}
}

// TestInt64DecodeLenient covers text goka also accepts (strconv.ParseInt in
// base 10) although our Encode never writes it.
func TestInt64DecodeLenient(t *testing.T) {
	tests := []struct {
		wire string
		want int64
	}{
		{"+7", 7},
		{"007", 7},
		{"-0", 0},
		{"-007", -7},
	}
	for _, tt := range tests {
		t.Run(tt.wire, func(t *testing.T) {
			value, err := new(codec.Int64).Decode([]byte(tt.wire))
			require.NoError(t, err)
			assert.Equal(t, tt.want, value)
		})
	}
}

func TestInt64DecodeMalformed(t *testing.T) {
	tests := []struct {
		name      string
		data      []byte
		want      string
		wantCause error
	}{
		{
			name: "nil",
			data: nil,
			want: "codec: Int64 expects decimal digits, got no data",
		},
		{
			name: "empty",
			data: []byte{},
			want: "codec: Int64 expects decimal digits, got no data",
		},
		{
			name:      "letters and nul",
			data:      []byte("a\x00b"),
			want:      `codec: Int64 expects decimal digits, got 3 bytes "a\x00b": invalid syntax`,
			wantCause: strconv.ErrSyntax,
		},
		{
			name:      "binary int64 is not goka's format",
			data:      []byte{0, 0, 0, 0, 0, 0, 0, 42},
			want:      `codec: Int64 expects decimal digits, got 8 bytes "\x00\x00\x00\x00\x00\x00\x00*": invalid syntax`,
			wantCause: strconv.ErrSyntax,
		},
		{
			name:      "sign only",
			data:      []byte("-"),
			want:      `codec: Int64 expects decimal digits, got 1 byte "-": invalid syntax`,
			wantCause: strconv.ErrSyntax,
		},
		{
			name:      "surrounding space",
			data:      []byte(" 1\n"),
			want:      `codec: Int64 expects decimal digits, got 3 bytes " 1\n": invalid syntax`,
			wantCause: strconv.ErrSyntax,
		},
		{
			name:      "underscores",
			data:      []byte("1_000"),
			want:      `codec: Int64 expects decimal digits, got 5 bytes "1_000": invalid syntax`,
			wantCause: strconv.ErrSyntax,
		},
		{
			name:      "hex",
			data:      []byte("0x10"),
			want:      `codec: Int64 expects decimal digits, got 4 bytes "0x10": invalid syntax`,
			wantCause: strconv.ErrSyntax,
		},
		{
			name:      "float",
			data:      []byte("1.5"),
			want:      `codec: Int64 expects decimal digits, got 3 bytes "1.5": invalid syntax`,
			wantCause: strconv.ErrSyntax,
		},
		{
			name:      "above max",
			data:      []byte("9223372036854775808"),
			want:      `codec: Int64 expects a decimal number in int64 range, got 19 bytes "9223372036854775808": value out of range`,
			wantCause: strconv.ErrRange,
		},
		{
			name:      "below min",
			data:      []byte("-9223372036854775809"),
			want:      `codec: Int64 expects a decimal number in int64 range, got 20 bytes "-9223372036854775809": value out of range`,
			wantCause: strconv.ErrRange,
		},
		{
			name: "long input is truncated",
			data: []byte(strings.Repeat("1", 100)),
			want: `codec: Int64 expects a decimal number in int64 range, got 100 bytes "` +
				strings.Repeat("1", 32) + `"...: value out of range`,
			wantCause: strconv.ErrRange,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, err := new(codec.Int64).Decode(tt.data)
			decErr := requireMalformed(t, tt.data, value, err)
			assert.EqualError(t, err, tt.want)
			assert.Equal(t, "Int64", decErr.Codec)
			if tt.wantCause != nil {
				assert.ErrorIs(t, err, tt.wantCause)
			} else {
				assert.NoError(t, decErr.Err)
			}
		})
	}
}

func FuzzInt64(f *testing.F) {
	seeds := []struct {
		data []byte
		n    int64
	}{
		{nil, 0},
		{[]byte(""), 1},
		{[]byte("0"), -1},
		{[]byte("-42"), -42},
		{[]byte("+1"), math.MaxInt64},
		{[]byte("007"), math.MinInt64},
		{[]byte("-0"), 0},
		{[]byte("9223372036854775807"), 0},
		{[]byte("-9223372036854775808"), 0},
		{[]byte("9223372036854775808"), 0},
		{[]byte("a\x00b"), 0},
		{[]byte("1_000"), 0},
		{[]byte("0x1f"), 0},
		{[]byte(" 1"), 0},
		{[]byte("١٢٣"), 0}, // non-ASCII digits
		{[]byte{0, 0, 0, 0, 0, 0, 0, 42}, 0},
	}
	for _, s := range seeds {
		f.Add(s.data, s.n)
	}
	f.Fuzz(func(t *testing.T, data []byte, n int64) {
		c := new(codec.Int64)

		// Any int64 survives a round trip and is written canonically.
		encoded, err := c.Encode(n)
		require.NoError(t, err)
		assert.Equal(t, strconv.FormatInt(n, 10), string(encoded))
		back, err := c.Decode(encoded)
		require.NoError(t, err)
		assert.Equal(t, n, back)

		// Any bytes either decode to a value that round-trips, or fail with
		// a well-formed DecodeError.
		value, err := c.Decode(data)
		if err != nil {
			requireMalformed(t, data, value, err)
			return
		}
		require.IsType(t, int64(0), value)
		encoded, err = c.Encode(value)
		require.NoError(t, err)
		again, err := c.Decode(encoded)
		require.NoError(t, err)
		assert.Equal(t, value, again)
	})
}
