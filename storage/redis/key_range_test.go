package redis

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeyRange(t *testing.T) {
	tests := []struct {
		name         string
		start, limit string
		want         keyRange
		empty        bool
		match        string
	}{
		{"everything", "", "", keyRange{}, false, ""},
		{"prefix", "ab", "", keyRange{lo: "ab", hi: "ac", bounded: true, prefix: "ab"}, false, "ab*"},
		{"prefix ending in 0xff", "a\xff", "", keyRange{lo: "a\xff", hi: "b", bounded: true, prefix: "a\xff"}, false, "a\xff*"},
		{"prefix of 0xff only", "\xff\xff", "", keyRange{lo: "\xff\xff", prefix: "\xff\xff"}, false, "\xff\xff*"},
		{"range without common prefix", "aa", "b", keyRange{lo: "aa", hi: "b", bounded: true}, false, ""},
		{"range with common prefix", "k0100", "k0105", keyRange{lo: "k0100", hi: "k0105", bounded: true, prefix: "k010"}, false, "k010*"},
		{"start is a prefix of limit", "ab", "abc", keyRange{lo: "ab", hi: "abc", bounded: true, prefix: "ab"}, false, "ab*"},
		{"no start", "", "b", keyRange{hi: "b", bounded: true}, false, ""},
		{"start equals limit", "b", "b", keyRange{lo: "b", hi: "b", bounded: true, prefix: "b"}, true, "b*"},
		{"start after limit", "c", "a", keyRange{lo: "c", hi: "a", bounded: true}, true, ""},
		{"glob characters are escaped", `a*?[]\`, "", keyRange{lo: `a*?[]\`, hi: `a*?[]]`, bounded: true, prefix: `a*?[]\`}, false, `a\*\?\[\]\\*`},
		{"binary prefix", "\x00\n", "", keyRange{lo: "\x00\n", hi: "\x00\v", bounded: true, prefix: "\x00\n"}, false, "\x00\x00\n*"}, // the stored form escapes the leading 0x00
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var start, limit []byte
			if tc.start != "" {
				start = []byte(tc.start)
			}
			if tc.limit != "" {
				limit = []byte(tc.limit)
			}
			r := newKeyRange(start, limit)
			assert.Equal(t, tc.want, r)
			assert.Equal(t, tc.empty, r.empty())
			assert.Equal(t, tc.match, r.matchPattern())
		})
	}
}

func TestKeyRangeContains(t *testing.T) {
	tests := []struct {
		name         string
		start, limit string
		key          string
		want         bool
	}{
		{"everything holds the empty key", "", "", "", true},
		{"everything holds 0xff", "", "", "\xff\xff", true},
		{"prefix holds itself", "ab", "", "ab", true},
		{"prefix holds longer keys", "ab", "", "ab\xff", true},
		{"prefix excludes the next key", "ab", "", "ac", false},
		{"prefix excludes shorter keys", "ab", "", "a", false},
		{"start is inclusive", "b", "d", "b", true},
		{"limit is exclusive", "b", "d", "d", false},
		{"between", "b", "d", "c\xff", true},
		{"0xff prefix is unbounded", "\xff", "", "\xff\xff\xff", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, newKeyRange([]byte(tc.start), []byte(tc.limit)).contains(tc.key))
		})
	}
}
