package codec_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type user struct {
	Name string `json:"name"`
	Age  int    `json:"age,omitempty"`
}

type withChan struct {
	C chan int
}

var errRefused = errors.New("refused")

type refusing struct{}

func (refusing) MarshalJSON() ([]byte, error) { return nil, errRefused }

func TestJSONEncode(t *testing.T) {
	tests := []struct {
		name  string
		codec gokaCodec
		value any
		want  string
	}{
		{name: "value", codec: new(codec.JSON[user]), value: user{Name: "ann", Age: 3}, want: `{"name":"ann","age":3}`},
		{name: "pointer", codec: new(codec.JSON[user]), value: &user{Name: "bob"}, want: `{"name":"bob"}`},
		{name: "nil pointer", codec: new(codec.JSON[user]), value: (*user)(nil), want: `null`},
		{name: "pointer type value", codec: new(codec.JSON[*user]), value: &user{Name: "c"}, want: `{"name":"c"}`},
		{name: "int", codec: new(codec.JSON[int]), value: -42, want: `-42`},
		{name: "string", codec: new(codec.JSON[string]), value: "a\"b", want: `"a\"b"`},
		{name: "slice", codec: new(codec.JSON[[]int]), value: []int{1, 2}, want: `[1,2]`},
		{name: "map", codec: new(codec.JSON[map[string]int]), value: map[string]int{"b": 2, "a": 1}, want: `{"a":1,"b":2}`},
		{name: "any with value", codec: new(codec.JSON[any]), value: map[string]any{"k": true}, want: `{"k":true}`},
		{name: "any with nil", codec: new(codec.JSON[any]), value: nil, want: `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.codec.Encode(tt.value)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(data))
		})
	}
}

func TestJSONEncodeWrongType(t *testing.T) {
	tests := []struct {
		name  string
		codec gokaCodec
		value any
		want  string
	}{
		{
			name:  "other struct",
			codec: new(codec.JSON[user]),
			value: withChan{},
			want:  "codec: JSON[codec_test.user] expects codec_test.user or *codec_test.user, got codec_test.withChan",
		},
		{
			name:  "nil for a struct",
			codec: new(codec.JSON[user]),
			value: nil,
			want:  "codec: JSON[codec_test.user] expects codec_test.user or *codec_test.user, got <nil>",
		},
		{
			name:  "double pointer",
			codec: new(codec.JSON[user]),
			value: new(*user),
			want:  "codec: JSON[codec_test.user] expects codec_test.user or *codec_test.user, got **codec_test.user",
		},
		{
			name:  "int64 for int",
			codec: new(codec.JSON[int]),
			value: int64(1),
			want:  "codec: JSON[int] expects int or *int, got int64",
		},
		{
			name:  "nil for a pointer type",
			codec: new(codec.JSON[*user]),
			value: nil,
			want:  "codec: JSON[*codec_test.user] expects *codec_test.user or **codec_test.user, got <nil>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.codec.Encode(tt.value)
			requireWrongType(t, data, err, tt.want)
		})
	}
}

func TestJSONEncodeMarshalFailure(t *testing.T) {
	t.Run("unsupported type", func(t *testing.T) {
		data, err := new(codec.JSON[withChan]).Encode(withChan{C: make(chan int)})
		require.Error(t, err)
		assert.Nil(t, data)
		assert.EqualError(t, err,
			"codec: JSON[codec_test.withChan] cannot encode codec_test.withChan: json: unsupported type: chan int")
		assert.NotErrorIs(t, err, codec.ErrWrongType)
		var encErr *codec.EncodeError
		require.ErrorAs(t, err, &encErr)
		var unsupported *json.UnsupportedTypeError
		assert.ErrorAs(t, err, &unsupported)
	})
	t.Run("marshaler error stays reachable", func(t *testing.T) {
		data, err := new(codec.JSON[refusing]).Encode(&refusing{})
		require.Error(t, err)
		assert.Nil(t, data)
		assert.ErrorIs(t, err, errRefused)
		assert.True(t, strings.HasPrefix(err.Error(),
			"codec: JSON[codec_test.refusing] cannot encode *codec_test.refusing: "), err.Error())
	})
}

func TestJSONDecode(t *testing.T) {
	tests := []struct {
		name  string
		codec gokaCodec
		data  string
		want  any
	}{
		{name: "struct value, not pointer", codec: new(codec.JSON[user]), data: `{"name":"ann","age":3}`, want: user{Name: "ann", Age: 3}},
		{name: "null is the zero value", codec: new(codec.JSON[user]), data: `null`, want: user{}},
		{name: "unknown fields are ignored", codec: new(codec.JSON[user]), data: `{"name":"ann","x":[1]}`, want: user{Name: "ann"}},
		{name: "surrounding space", codec: new(codec.JSON[user]), data: " {\"name\":\"a\"}\n", want: user{Name: "a"}},
		{name: "pointer type", codec: new(codec.JSON[*user]), data: `{"name":"p"}`, want: &user{Name: "p"}},
		{name: "pointer type null", codec: new(codec.JSON[*user]), data: `null`, want: (*user)(nil)},
		{name: "int", codec: new(codec.JSON[int]), data: `-42`, want: -42},
		{name: "string", codec: new(codec.JSON[string]), data: `"a\u00e9"`, want: "aé"},
		{name: "any", codec: new(codec.JSON[any]), data: `{"n":1}`, want: map[string]any{"n": 1.0}},
		{name: "any null", codec: new(codec.JSON[any]), data: `null`, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, err := tt.codec.Decode([]byte(tt.data))
			require.NoError(t, err)
			assert.Equal(t, tt.want, value)
		})
	}
}

func TestJSONDecodeMalformed(t *testing.T) {
	tests := []struct {
		name       string
		data       []byte
		wantPrefix string
		wantAs     any
	}{
		{
			name:       "nil",
			data:       nil,
			wantPrefix: "codec: JSON[codec_test.user] expects JSON for codec_test.user, got no data: unexpected end of JSON input",
			wantAs:     new(*json.SyntaxError),
		},
		{
			name:       "empty",
			data:       []byte{},
			wantPrefix: "codec: JSON[codec_test.user] expects JSON for codec_test.user, got no data: ",
			wantAs:     new(*json.SyntaxError),
		},
		{
			name:       "truncated",
			data:       []byte(`{"name":"ann"`),
			wantPrefix: `codec: JSON[codec_test.user] expects JSON for codec_test.user, got 13 bytes "{\"name\":\"ann\"": `,
			wantAs:     new(*json.SyntaxError),
		},
		{
			name:       "trailing data",
			data:       []byte(`{} x`),
			wantPrefix: `codec: JSON[codec_test.user] expects JSON for codec_test.user, got 4 bytes "{} x": `,
			wantAs:     new(*json.SyntaxError),
		},
		{
			name:       "wrong field type",
			data:       []byte(`{"name":1}`),
			wantPrefix: `codec: JSON[codec_test.user] expects JSON for codec_test.user, got 10 bytes "{\"name\":1}": `,
			wantAs:     new(*json.UnmarshalTypeError),
		},
		{
			name:       "array for struct",
			data:       []byte(`[1,2]`),
			wantPrefix: `codec: JSON[codec_test.user] expects JSON for codec_test.user, got 5 bytes "[1,2]": `,
			wantAs:     new(*json.UnmarshalTypeError),
		},
		{
			name:       "binary",
			data:       []byte("\x00\xff"),
			wantPrefix: `codec: JSON[codec_test.user] expects JSON for codec_test.user, got 2 bytes "\x00\xff": `,
			wantAs:     new(*json.SyntaxError),
		},
		{
			name: "long input is truncated",
			data: []byte(`{"name":"` + strings.Repeat("a", 1000) + `",}`),
			wantPrefix: `codec: JSON[codec_test.user] expects JSON for codec_test.user, got 1012 bytes "{\"name\":\"` +
				strings.Repeat("a", 23) + `"...: `,
			wantAs: new(*json.SyntaxError),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, err := new(codec.JSON[user]).Decode(tt.data)
			decErr := requireMalformed(t, tt.data, value, err)
			assert.True(t, strings.HasPrefix(err.Error(), tt.wantPrefix), "got %q", err.Error())
			assert.Equal(t, "JSON[codec_test.user]", decErr.Codec)
			assert.ErrorAs(t, err, tt.wantAs)
		})
	}
}

func TestJSONDecodeOutOfRange(t *testing.T) {
	_, err := new(codec.JSON[int8]).Decode([]byte("300"))
	requireMalformed(t, []byte("300"), nil, err)
	_, err = new(codec.JSON[float64]).Decode([]byte("1e400"))
	requireMalformed(t, []byte("1e400"), nil, err)
}

func TestJSONRoundTrip(t *testing.T) {
	c := new(codec.JSON[fuzzRecord])
	in := fuzzRecord{
		Name:  "n",
		Count: math.MinInt64,
		Ratio: math.SmallestNonzeroFloat64,
		OK:    true,
		Tags:  []string{"", "\u2028", "<&>"},
		Attrs: map[string]int{"x": 1},
		Next:  &fuzzRecord{Name: "inner", Tags: []string{}},
		Extra: []any{1.5, "s", nil, map[string]any{}},
	}
	data, err := c.Encode(in)
	require.NoError(t, err)
	out, err := c.Decode(data)
	require.NoError(t, err)
	assert.Equal(t, in, out)
}

// fuzzRecord exercises the parts of encoding/json most likely to lose a
// value between decode and re-encode: numbers, nested pointers, nil versus
// empty collections and untyped values. No field of a collection type has
// omitempty: it turns an empty map into a missing one, which decodes as nil,
// so such a field cannot round-trip (testdata/fuzz/FuzzJSON/b9848ba018bc7e7f).
type fuzzRecord struct {
	Name  string         `json:"name"`
	Count int64          `json:"count"`
	Ratio float64        `json:"ratio"`
	OK    bool           `json:"ok"`
	Tags  []string       `json:"tags"`
	Attrs map[string]int `json:"attrs"`
	Next  *fuzzRecord    `json:"next,omitempty"`
	Extra any            `json:"extra"`
}

func FuzzJSON(f *testing.F) {
	for _, seed := range []string{
		``,
		`null`,
		`{}`,
		`[]`,
		`{"name":"ann","count":-42,"ratio":1.5,"ok":true,"tags":["a",""],"attrs":{"k":1}}`,
		`{"next":{"next":{"name":"deep"}},"extra":[1,"x",null,{"y":false}]}`,
		`{"NAME":"case","Name":"folded"}`,
		`{"count":9223372036854775807,"ratio":-0}`,
		`{"count":9223372036854775808}`,
		`{"ratio":1e308}`,
		`{"ratio":1e400}`,
		`{"extra":-0}`,
		`{"extra":1e-400}`,
		`{"name":"\ud800\u2028\xff"}`,
		`{"tags":null,"attrs":null,"next":null}`,
		`{"count":"1"}`,
		`{"name":"a"} trailing`,
		"\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := new(codec.JSON[fuzzRecord])
		value, err := c.Decode(data)
		if err != nil {
			requireMalformed(t, data, value, err)
			return
		}
		require.IsType(t, fuzzRecord{}, value)
		encoded, err := c.Encode(value)
		require.NoError(t, err)
		again, err := c.Decode(encoded)
		require.NoError(t, err)
		assert.Equal(t, value, again)
	})
}
