package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/internal/keyspace"
)

// largeKeys is enough fields for Redis to keep the hash as a hash table and
// for HSCAN to return it in several pages.
const largeKeys = 3000

// largeKey is the i-th key of a large hash.
func largeKey(i int) string {
	return fmt.Sprintf("k%04d", i)
}

// fillLarge writes largeKeys fields, all with value, plus extra pairs, with
// raw commands, and checks that the hash really needs several pages.
func fillLarge(t *testing.T, client *redis.Client, hash, value string, extra ...string) {
	t.Helper()
	ctx := context.Background()
	args := make([]any, 0, 2*largeKeys+len(extra))
	for i := range largeKeys {
		args = append(args, largeKey(i), value)
	}
	for _, e := range extra {
		args = append(args, e)
	}
	// Written in the current layout, so that New does not migrate it.
	args = append(args, layoutField, keyspace.Version)
	require.NoError(t, client.HSet(ctx, hash, args...).Err())
	_, cursor, err := client.HScan(ctx, hash, 0, "", scanCount).Result()
	require.NoError(t, err)
	require.NotZero(t, cursor, "the hash fits in one HSCAN page; the test would not page")
}

// iterate collects the keys and values of an iterator and releases it.
func iterate(t *testing.T, it storage.Iterator) (keys []string, values []string) {
	t.Helper()
	defer it.Release()
	for it.Next() {
		value, err := it.Value()
		require.NoError(t, err)
		keys = append(keys, string(it.Key()))
		values = append(values, string(value))
	}
	require.NoError(t, it.Err())
	return keys, values
}

func TestLargeHashIteration(t *testing.T) {
	client := newClient(t)
	const hash = "snapshot:large"
	useHashes(t, client, hash)
	specials := []string{"a", "a*b", "a*c", "a?", "a[1]", `a\x`, "ab", "abc", "\xff", "\xff*"}
	var extra []string
	for _, k := range specials {
		extra = append(extra, k, "v-"+k)
	}
	extra = append(extra, offsetField, "7")
	fillLarge(t, client, hash, "v", extra...)

	st, err := New(client, hash)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	want := slices.Clone(specials)
	for i := range largeKeys {
		want = append(want, largeKey(i))
	}
	slices.Sort(want)
	it, err := st.Iterator()
	require.NoError(t, err)
	keys, _ := iterate(t, it)
	require.Equal(t, want, keys, "every page, in order, without the offset")

	ranges := []struct {
		name         string
		start, limit string
		want         []string
	}{
		{"prefix with a star", "a*", "", []string{"a*b", "a*c"}},
		{"prefix with a question mark", "a?", "", []string{"a?"}},
		{"prefix with a bracket", "a[", "", []string{"a[1]"}},
		{"prefix with a backslash", `a\`, "", []string{`a\x`}},
		{"prefix with 0xff and a star", "\xff*", "", []string{"\xff*"}},
		{"range inside a glob prefix", "a*", "a*c", []string{"a*b"}},
		{"range with a common prefix", "k0100", "k0105", []string{"k0100", "k0101", "k0102", "k0103", "k0104"}},
		{"range across prefixes", "abc", "k0002", []string{"abc", "k0000", "k0001"}},
		{"prefix of the metadata fields", "\x00\x01", "", nil},
		{"prefix of the offset field", "\x00\x01offset", "", nil},
	}
	for _, tc := range ranges {
		t.Run(tc.name, func(t *testing.T) {
			it, err := st.IteratorWithRange([]byte(tc.start), []byte(tc.limit))
			require.NoError(t, err)
			keys, values := iterate(t, it)
			assert.Equal(t, tc.want, keys)
			for i, k := range keys {
				want := "v-" + k
				if strings.HasPrefix(k, "k") {
					want = "v" // fillLarge's value
				}
				assert.Equal(t, want, values[i], k)
			}
		})
	}

	it, err = st.IteratorWithRange([]byte("k"), nil)
	require.NoError(t, err)
	defer it.Release()
	require.True(t, it.Seek([]byte("k2999")))
	assert.Equal(t, "k2999", string(it.Key()))
	assert.False(t, it.Next())
	require.True(t, it.Seek([]byte("a")), "a seek before the range finds its first key")
	assert.Equal(t, "k0000", string(it.Key()))
}

// scanInterference is a client hook that writes to the hash through another
// client right after the first HSCAN that follows a WATCH, for the first
// interfere reads, so that their EXEC fails. It counts the commands that
// show which way a snapshot was read.
type scanInterference struct {
	t         *testing.T
	writer    *redis.Client
	hash      string
	interfere int

	armed   bool
	writes  int
	watches int
	getAlls int
}

func (h *scanInterference) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scanInterference) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *scanInterference) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		switch cmd.Name() {
		case "watch":
			h.watches++
			h.armed = h.writes < h.interfere
		case "hgetall":
			h.getAlls++
		case "hscan":
			if h.armed {
				h.armed = false
				h.writes++
				assert.NoError(h.t, h.writer.HSet(ctx, h.hash, "k0000", "w"+strconv.Itoa(h.writes)).Err())
			}
		}
		return err
	}
}

func TestSnapshotRetries(t *testing.T) {
	tests := []struct {
		name      string
		interfere int
		watches   int
		getAlls   int
	}{
		{"undisturbed paged read", 0, 1, 0},
		{"one write during a paged read is retried", 1, 2, 0},
		{"two writes are retried", 2, 3, 0},
		{"writes during every attempt fall back to HGETALL", watchedAttempts, watchedAttempts, 1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writer := newClient(t)
			hash := "snapshot:retries:" + strconv.Itoa(i)
			useHashes(t, writer, hash)
			fillLarge(t, writer, hash, "v")

			reader := newClient(t)
			st, err := New(reader, hash)
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			// Hooked after New, whose layout check watches the hash too.
			hook := &scanInterference{t: t, writer: writer, hash: hash, interfere: tc.interfere}
			reader.AddHook(hook)

			it, err := st.Iterator()
			require.NoError(t, err)
			keys, values := iterate(t, it)

			assert.Equal(t, tc.interfere, hook.writes)
			assert.Equal(t, tc.watches, hook.watches, "paged reads under WATCH")
			assert.Equal(t, tc.getAlls, hook.getAlls, "HGETALL fallbacks")
			require.Len(t, keys, largeKeys)
			assert.True(t, slices.IsSorted(keys))
			want := "v"
			if tc.interfere > 0 {
				want = "w" + strconv.Itoa(tc.interfere) // every write happened before the read that counted
			}
			assert.Equal(t, want, values[0], "the snapshot holds the state after the last write")
		})
	}
}

func TestSmallHashNeedsNoWatch(t *testing.T) {
	client := newClient(t)
	useHashes(t, client, "snapshot:small")
	st, err := New(client, "snapshot:small")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	// Hooked after New, whose layout check watches the hash.
	hook := &scanInterference{t: t}
	client.AddHook(hook)
	for i := range 100 {
		require.NoError(t, st.Set(largeKey(i), []byte("v")))
	}
	it, err := st.Iterator()
	require.NoError(t, err)
	keys, _ := iterate(t, it)
	assert.Len(t, keys, 100)
	assert.Zero(t, hook.watches, "one HSCAN page is consistent by itself")
}

// TestLargeBatchAtomicity is the conformance suite's atomicity check on a
// hash large enough that snapshots are read in pages, so that readers race
// the writer through the WATCH retries and the HGETALL fallback.
func TestLargeBatchAtomicity(t *testing.T) {
	client := newClient(t)
	const hash, rounds, readers = "snapshot:atomic", 30, 3
	useHashes(t, client, hash)
	fillLarge(t, client, hash, "0")
	st, err := New(client, hash)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.SetOffset(0))

	done := make(chan struct{})
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if !consistentSnapshot(t, st) {
					return
				}
			}
		})
	}
	var b storage.Batch
	for round := 1; round <= rounds; round++ {
		b.Reset()
		for i := range largeKeys {
			b.Set(largeKey(i), []byte(strconv.Itoa(round)))
		}
		b.SetOffset(int64(round))
		if !assert.NoError(t, storage.WriteBatch(st, &b)) {
			break
		}
	}
	close(done)
	wg.Wait()
	assert.True(t, consistentSnapshot(t, st))
}

// consistentSnapshot reads the offset, then a snapshot, and reports whether
// the snapshot holds one whole batch at least as new as the offset. It uses
// assert because it runs on reader goroutines.
func consistentSnapshot(t *testing.T, st storage.Storage) bool {
	off, err := st.GetOffset(-1)
	if !assert.NoError(t, err) {
		return false
	}
	it, err := st.Iterator()
	if !assert.NoError(t, err) {
		return false
	}
	defer it.Release()
	n := 0
	first := ""
	for it.Next() {
		raw, err := it.Value()
		if !assert.NoError(t, err) {
			return false
		}
		value := string(raw)
		if n == 0 {
			first = value
		}
		if !assert.Equal(t, first, value, "a snapshot mixes two batches at %q", it.Key()) {
			return false
		}
		n++
	}
	if !assert.Equal(t, largeKeys, n, "a snapshot misses keys") {
		return false
	}
	round, err := strconv.ParseInt(first, 10, 64)
	return assert.NoError(t, err) && assert.GreaterOrEqual(t, round, off, "the offset ran ahead of the data")
}
