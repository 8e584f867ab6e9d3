// Package storage holds the local copies of table partitions that processors
// and views read and write.
//
// Each partition of a table lives in its own Storage, created by a Builder
// when the partition is assigned. Recovery fills it from the table topic and
// records, with SetOffset, the offset of the last record applied; on a
// restart recovery resumes after that offset. The processor then reads and
// writes keys through it, and views iterate over it.
//
// # Backends
//
//   - LevelDB (New, DefaultBuilder, BuilderWithOptions): persistent, one
//     database per partition at <path>/<topic>.<partition>, the directories
//     goka uses; a goka store found there is converted (see Layout). A
//     store a builder opened loads a large restore with level-0 compaction
//     deferred and gets its own options back at MarkRecovered.
//   - Memory (NewMemory, MemoryBuilder): for tests, the tester and tables that
//     are cheap to recover.
//   - Null (NewNull): keeps nothing.
//   - File (NewFile): appends every value set to a file and keeps nothing to
//     read back; a debugging aid.
//
// Other backends implement Storage and can be checked against the
// conformance suite in package storagetest.
//
// # Contract
//
// goka's own backends disagree with each other on several points; every
// backend here follows the one behaviour below instead, and storagetest
// checks it.
//
// Values. Get of a missing key returns nil and no error. Set(key, nil) is
// allowed and stores an empty value: Get then returns a non-nil empty slice
// and Has returns true, so a missing key and an empty value can be told
// apart. Set copies its value; Get and Iterator.Value return copies the
// caller may keep and modify.
//
// Offsets. GetOffset(def) returns def until an offset has been stored.
// Persistent backends make SetOffset durable before it returns: LevelDB
// writes it through at once, where goka keeps it in memory and flushes it
// every 30 seconds until MarkRecovered. MarkRecovered is idempotent and
// harmless on every backend (goka's LevelDB backend panics on a second
// call).
//
// Keys. Every key is data, whatever its bytes: the empty key, binary keys,
// keys starting with 0x00 or 0xff, keys of a megabyte (every backend here
// takes them) and "__offset". No key reaches a backend's own metadata, and no
// iterator leaves a key out.
//
// Layout. The persistent backends keep their metadata (the offset and a
// layout version) under stored keys that no table key maps to: a key that
// starts with 0x00 is stored with one more 0x00 in front, every other key as
// itself, and metadata lives under 0x00 0x01. Byte order is preserved, so
// ranges and seeks translate bound by bound, and an ordinary key costs
// nothing extra. Memory keeps its offset beside its map.
//
// Stores of goka and of earlier versions kept the offset as decimal text
// under the data key "__offset", where a message with that key read it,
// overwrote it or, holding the dirty marker, defeated the crash guard of
// the table code. LevelDB (New) and Redis detect such a store when they open
// it (it holds keys but no layout version) and either migrate it (the
// offset moved, the keys starting with 0x00 re-encoded, in one atomic
// write) or, when its offset is not a number or it has more than 64 MiB of
// keys starting with 0x00, empty it so that recovery rebuilds it from the
// oldest offset of the topic. LayoutReporter tells which; the table code
// logs it. A store is never read in the wrong layout; a layout version this
// package does not know is refused. goka cannot read a converted store.
//
// Iteration. Iterators return keys in ascending byte order.
// IteratorWithRange(start, limit) covers the half-open range [start, limit)
// when limit is not empty, and every key that has start as a prefix when
// limit is empty (what goka's LevelDB and memory backends actually do,
// whatever their documentation says); both empty means every key.
//
// Snapshots. An iterator sees the storage as it was when the iterator was
// created; later writes do not show. It starts before the first key. Seek(k)
// moves to the first key >= k within the iterator's range and reports
// whether there is one; Key and Value are valid right after a successful
// Seek, and Next continues after that key. Key is valid until the iterator
// moves. Iterators must be released, and released before their storage is
// closed.
//
// Lifecycle. Open may be a no-op; storages from the constructors and builders
// are usable at once. Close is idempotent. Every operation after Close
// returns an error that wraps ErrClosed, never a panic.
//
// Concurrency. A storage is safe for many concurrent readers and one writer;
// the backends here also tolerate several writers. An iterator belongs to
// one goroutine.
//
// # Batches
//
// Recovery applies table records in batches: a Batch collects sets, deletes
// and the offset after them, and WriteBatch applies it. Storages that
// implement BatchWriter (LevelDB, memory) apply a batch atomically, so that
// a crash never leaves a storage whose offset is ahead of its data; for
// others WriteBatch falls back to single operations and writes the offset
// last, which keeps that guarantee but lets readers see a half-applied batch.
package storage
