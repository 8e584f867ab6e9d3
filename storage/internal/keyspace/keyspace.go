// Package keyspace maps table keys to the keys a persistent backend stores,
// so that the backend's own metadata (the offset, the layout version) lives
// where no table key can reach it.
//
// A key that does not start with 0x00 is stored as itself; a key that does
// gets one more 0x00 in front. Stored keys that start with 0x00 followed by
// any other byte are therefore never table keys: metadata lives under
// 0x00 0x01. The mapping preserves byte order, so ranges and seeks translate
// bound by bound, and the keys of almost every table are stored unchanged.
package keyspace

// Version is the layout this package defines, stored under LayoutKey. A
// store without it that holds any key was written in the layout before,
// where the offset was the data key "__offset" (goka's layout too).
// The value is distinctive so that a table key of the earlier layout that
// happened to equal LayoutKey is not taken for it.
const Version = VersionPrefix + "1"

// VersionPrefix starts every layout version; a value under LayoutKey without
// it is a table key of the earlier layout.
const VersionPrefix = "keyspace-layout-"

// The metadata keys.
const (
	// LayoutKey holds Version.
	LayoutKey = "\x00\x01layout"
	// OffsetKey holds the partition offset as decimal text.
	OffsetKey = "\x00\x01offset"
	// RebuildKey holds RebuildPending while a store in the earlier layout
	// is being emptied in several writes, so that a crash in between is not
	// mistaken for a store to migrate.
	RebuildKey = "\x00\x01rebuild"
)

// RebuildPending is the value of RebuildKey.
const RebuildPending = "keyspace-rebuild-pending"

// LegacyOffsetKey is where the earlier layout, and goka, kept the offset, as
// decimal text, among the data.
const LegacyOffsetKey = "__offset"

// Encode returns the stored form of key.
func Encode(key string) []byte {
	if len(key) > 0 && key[0] == 0 {
		b := make([]byte, len(key)+1)
		copy(b[1:], key)
		return b
	}
	return []byte(key)
}

// EncodeString is Encode for backends that take strings.
func EncodeString(key string) string {
	if len(key) > 0 && key[0] == 0 {
		return "\x00" + key
	}
	return key
}

// EncodeBound is Encode for a range bound, which keeps nil as nil (no
// bound).
func EncodeBound(key []byte) []byte {
	if len(key) > 0 && key[0] == 0 {
		b := make([]byte, len(key)+1)
		copy(b[1:], key)
		return b
	}
	return key
}

// IsMeta reports whether a stored key is metadata rather than an encoded
// table key.
func IsMeta(stored []byte) bool {
	return len(stored) > 0 && stored[0] == 0 && (len(stored) == 1 || stored[1] != 0)
}

// IsMetaString is IsMeta for strings.
func IsMetaString(stored string) bool {
	return len(stored) > 0 && stored[0] == 0 && (len(stored) == 1 || stored[1] != 0)
}

// Decode returns the table key of a stored key that is not metadata. The
// result shares stored's memory.
func Decode(stored []byte) []byte {
	if len(stored) > 0 && stored[0] == 0 {
		return stored[1:]
	}
	return stored
}

// DecodeString is Decode for strings.
func DecodeString(stored string) string {
	if len(stored) > 0 && stored[0] == 0 {
		return stored[1:]
	}
	return stored
}

// MigrationLimit bounds the bytes (keys and values) of the table keys that
// start with 0x00 which migrating a store in the earlier layout re-encodes in
// one atomic write. Such keys are rare; a store with more of them is rebuilt
// from the topic instead, which needs no memory in proportion to the store.
const MigrationLimit = 64 << 20
