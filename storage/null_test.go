package storage_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/storagetest"
)

func TestNullConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Builder {
		return func(string, int32) (storage.Storage, error) { return storage.NewNull(), nil }
	}, storagetest.Capabilities{Discards: true})
}

func TestNullZeroValue(t *testing.T) {
	var n storage.Null
	require.NoError(t, n.Set("key", []byte("value")))
	value, err := n.Get("key")
	require.NoError(t, err)
	assert.Nil(t, value)

	it, err := n.IteratorWithRange([]byte("a"), nil)
	require.NoError(t, err)
	assert.IsType(t, &storage.NullIter{}, it)
	assert.False(t, it.Next())
}
