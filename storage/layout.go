package storage

// LayoutUpgrade says what opening a store found in an earlier layout did to
// it. Earlier versions of this package, and goka, kept the offset as decimal
// text under the data key "__offset", where a table key of that name reads
// it, overwrites it or hides from iterators; persistent backends now keep
// their metadata apart from the data and convert such stores when they open
// them.
type LayoutUpgrade string

const (
	// LayoutCurrent: the store was empty or already in the current layout.
	LayoutCurrent LayoutUpgrade = ""
	// LayoutMigrated: the offset was moved out of the data and the keys
	// re-encoded, in one atomic write; the store keeps its data and offset.
	LayoutMigrated LayoutUpgrade = "migrated"
	// LayoutRebuilding: the store could not be migrated safely (its offset
	// was unreadable, or too many keys needed re-encoding) and was emptied,
	// offset included, so that recovery rebuilds it from the oldest offset
	// of the topic.
	LayoutRebuilding LayoutUpgrade = "rebuilding"
)

// LayoutReporter is implemented by storages that may convert a store from an
// earlier layout when they open it (LevelDB and Redis). Storage has no
// logger: the table code asks once the store is open and logs the outcome.
type LayoutReporter interface {
	// LayoutUpgrade reports what opening the store did; LayoutCurrent when
	// it found nothing to convert.
	LayoutUpgrade() LayoutUpgrade
}
