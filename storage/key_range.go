package storage

import "bytes"

// keyRange is the resolved form of IteratorWithRange's arguments: the keys k
// with lo <= k < hi, where a nil lo is the smallest key and a nil hi means no
// upper bound. Backends share it so that they cannot disagree on the rule.
type keyRange struct {
	lo, hi []byte
}

// resolveRange applies the package rule: a non-empty limit is an exclusive
// upper bound, an empty limit turns start into a prefix.
func resolveRange(start, limit []byte) keyRange {
	var r keyRange
	if len(start) > 0 {
		r.lo = bytes.Clone(start)
	}
	if len(limit) > 0 {
		r.hi = bytes.Clone(limit)
	} else {
		r.hi = prefixEnd(start)
	}
	return r
}

// prefixEnd returns the smallest key greater than every key that has prefix
// as a prefix, or nil when there is none (an empty prefix or one made only of
// 0xff bytes).
func prefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			end := bytes.Clone(prefix[:i+1])
			end[i]++
			return end
		}
	}
	return nil
}

// clampSeek moves a seek target that lies before the range up to its start.
func (r keyRange) clampSeek(key []byte) []byte {
	if r.lo != nil && bytes.Compare(key, r.lo) < 0 {
		return r.lo
	}
	return key
}
