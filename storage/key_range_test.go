package storage

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		prefix, want []byte
	}{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte("ab"), []byte("ac")},
		{[]byte{'a', 0xff}, []byte("b")},
		{[]byte{0xff, 0xff}, nil},
		{[]byte{0x00}, []byte{0x01}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, prefixEnd(tc.prefix), "prefix %q", tc.prefix)
	}
}

func TestResolveRange(t *testing.T) {
	tests := []struct {
		name           string
		start, limit   []byte
		wantLo, wantHi []byte
	}{
		{"everything", nil, nil, nil, nil},
		{"empty slices are everything", []byte{}, []byte{}, nil, nil},
		{"prefix", []byte("ab"), nil, []byte("ab"), []byte("ac")},
		{"half-open", []byte("a"), []byte("c"), []byte("a"), []byte("c")},
		{"only a limit", nil, []byte("c"), nil, []byte("c")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := resolveRange(tc.start, tc.limit)
			assert.Equal(t, tc.wantLo, r.lo)
			assert.Equal(t, tc.wantHi, r.hi)
		})
	}
}

func TestResolveRangeCopiesArguments(t *testing.T) {
	start, limit := []byte("a"), []byte("c")
	r := resolveRange(start, limit)
	start[0], limit[0] = 'x', 'x'
	assert.Equal(t, []byte("a"), r.lo)
	assert.Equal(t, []byte("c"), r.hi)
}
