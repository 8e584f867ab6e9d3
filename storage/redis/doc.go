// Package redis keeps table partitions in Redis hashes, through the
// maintained client github.com/redis/go-redis/v9.
//
// It is goka's storage/redis with the same two entry points, New and
// RedisBuilder, taking a go-redis v9 client where goka took one of the
// unmaintained gopkg.in/redis.v5, and it follows the contract of package
// storage in full, which goka's does not: it iterates over every field of a
// hash instead of one scan page, in ascending key order, honours the limit of
// a range, implements Seek, gives iterators a snapshot and writes batches
// atomically. Its tests run the storagetest conformance suite against a real
// redis-server.
//
// # Layout
//
// One partition is one Redis hash, named "<namespace>:<topic>:<partition>"
// by RedisBuilder; each table key is a field of the hash and its value the
// field's value. A key that starts with the byte 0x00 is stored with one
// more 0x00 in front; every other key is its field as is. That leaves the
// fields starting with 0x00 0x01 to metadata, out of reach of any key: the
// offset, as decimal text, and the layout version, which every write sets
// again. Keeping the metadata in the data hash rather than in a key of its
// own means that a partition is a single Redis key: a batch with its offset
// touches one key, which MULTI/EXEC makes atomic and which one WATCH guards,
// and deleting the hash deletes the whole partition.
//
// goka, and earlier versions of this package, kept the offset in the field
// "__offset" among the data, where a table key of that name read it or
// overwrote it. New detects such a hash (it has fields but no layout field)
// and converts it in one MULTI/EXEC under WATCH: the offset moves to its
// metadata field and the fields starting with 0x00 are escaped. A hash whose
// "__offset" is not a number, or with more than 64 MiB of fields starting
// with 0x00, is deleted instead, so that recovery rebuilds it from the
// topic. storage.LayoutReporter tells which happened; the table code logs
// it. goka cannot read a converted hash.
//
// # Iteration
//
// Redis keeps no order among the fields of a hash, so an iterator reads the
// partition's fields and values when it is created, sorts them and then
// walks that copy; the copy is the snapshot the contract asks for. Creating
// an iterator thus costs one pass over the hash on the server, memory for the
// fields and values it returns on the client, and an O(n log n) sort; after
// that Next and Seek make no requests and never fail. A range whose keys share
// a prefix (a prefix range, or [start, limit) when start and limit share one)
// sends that prefix as the HSCAN MATCH pattern, so that only matching fields
// cross the network; Redis still walks the whole hash.
//
// The fields are read with HSCAN, page by page, so that a large hash does not
// block the server the way one HGETALL would. A single page (small hashes,
// which Redis returns whole) is one command and thus consistent. Several pages
// are read under WATCH on the hash and checked by an empty MULTI/EXEC; if the
// hash changed meanwhile the pages may mix old and new state and the read is
// retried. After a few failed attempts under a steady stream of writes the
// iterator falls back to one HGETALL, which is consistent but holds the server
// for the length of the hash. Metadata fields are left out of every
// snapshot.
//
// # Writes and durability
//
// Set, Delete and SetOffset are one command each. WriteBatch sends a batch
// as one MULTI/EXEC transaction (consecutive sets folded into one HSET,
// consecutive deletes into one HDEL), so that no reader sees part of a batch
// and the stored offset never runs ahead of the data. How durable a write is
// after it returns is the server's persistence setting (RDB snapshots, the
// append-only file and its fsync policy), not this package's: Redis
// acknowledges writes from memory.
//
// # Ownership
//
// The caller owns the client: Close marks the storage closed, after which
// every operation fails with an error wrapping storage.ErrClosed, and leaves
// the client, which the storages of every partition share, open. The
// functions take a *redis.Client, as goka's do; the hash is a single key, so
// nothing here depends on a single server apart from that type.
package redis
