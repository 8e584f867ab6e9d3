package redis

import (
	"strings"

	"github.com/seed-b2c684ed/goka/storage/internal/keyspace"
)

// keyRange is the set of keys an iterator covers, resolved from the
// arguments of IteratorWithRange by the rule of package storage: a non-empty
// limit is an exclusive upper bound, an empty limit makes start a prefix.
type keyRange struct {
	lo string // the smallest key in the range; "" is the smallest key of all
	// hi is the exclusive upper bound when bounded is set; an unbounded
	// range runs to the end of the keyspace.
	hi      string
	bounded bool
	// prefix is shared by every key in the range; it becomes the HSCAN
	// MATCH pattern.
	prefix string
}

// newKeyRange resolves IteratorWithRange's arguments.
func newKeyRange(start, limit []byte) keyRange {
	r := keyRange{lo: string(start)}
	if len(limit) > 0 {
		r.hi, r.bounded = string(limit), true
		// Every string between two strings that share a prefix shares it
		// too, so the keys of [start, limit) all begin with the common
		// prefix of start and limit.
		r.prefix = commonPrefix(r.lo, r.hi)
		return r
	}
	r.prefix = r.lo
	r.hi, r.bounded = prefixEnd(r.lo)
	return r
}

// prefixEnd returns the smallest key after every key that starts with
// prefix, and false when there is none: for an empty prefix or one made of
// 0xff bytes only, the keys with that prefix run to the end of the keyspace.
func prefixEnd(prefix string) (string, bool) {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			return prefix[:i] + string([]byte{prefix[i] + 1}), true
		}
	}
	return "", false
}

func commonPrefix(a, b string) string {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return a[:i]
		}
	}
	return a[:n]
}

// empty reports whether no key can be in the range.
func (r keyRange) empty() bool {
	return r.bounded && r.hi <= r.lo
}

// contains reports whether key is in the range.
func (r keyRange) contains(key string) bool {
	return key >= r.lo && (!r.bounded || key < r.hi)
}

// matchPattern returns the HSCAN MATCH pattern that selects the fields of
// the keys with the range's prefix, or "" to select every field. The prefix
// is encoded as the fields are, which keeps it a prefix. Redis patterns are
// globs, so its glob characters are escaped; the rest of a key, binary bytes
// included, matches itself.
func (r keyRange) matchPattern() string {
	if r.prefix == "" {
		return ""
	}
	prefix := keyspace.EncodeString(r.prefix)
	var b strings.Builder
	b.Grow(len(prefix) + 2)
	for i := range len(prefix) {
		switch c := prefix[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('*')
	return b.String()
}
