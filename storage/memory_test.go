package storage_test

import (
	"math/rand"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/storagetest"
)

func TestMemoryConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Builder {
		return storage.MemoryBuilder()
	}, storagetest.Capabilities{})
}

func TestMemoryBuilderIsolatesPartitions(t *testing.T) {
	build := storage.MemoryBuilder()
	a, err := build("topic", 0)
	require.NoError(t, err)
	b, err := build("topic", 0)
	require.NoError(t, err)

	require.NoError(t, a.Set("key", []byte("value")))
	got, err := b.Get("key")
	require.NoError(t, err)
	assert.Nil(t, got, "every call builds a new storage")
}

// The memory backend keeps its sorted key list up to date lazily, merging
// new keys in and dropping deleted ones. Random writes with iterators taken
// in between compare it against a plain map, including the path where so
// many keys come and go that the list is rebuilt from scratch.
func TestMemoryIndexMatchesModel(t *testing.T) {
	st := storage.NewMemory()
	defer st.Close()
	model := map[string]string{}
	rng := rand.New(rand.NewSource(42))

	check := func(step int) {
		t.Helper()
		want := make([]string, 0, len(model))
		for k := range model {
			want = append(want, k)
		}
		slices.Sort(want)
		it, err := st.Iterator()
		require.NoError(t, err)
		defer it.Release()
		var got []string
		for it.Next() {
			value, err := it.Value()
			require.NoError(t, err)
			require.Equal(t, model[string(it.Key())], string(value), "step %d key %q", step, it.Key())
			got = append(got, string(it.Key()))
		}
		require.Equal(t, want, got, "step %d", step)
	}

	for step := range 20000 {
		key := "k" + strconv.Itoa(rng.Intn(300))
		switch op := rng.Intn(10); {
		case op < 5:
			value := strconv.Itoa(step)
			require.NoError(t, st.Set(key, []byte(value)))
			model[key] = value
		case op < 9:
			require.NoError(t, st.Delete(key))
			delete(model, key)
		default:
			check(step)
		}
	}
	check(-1)
}
