package storagetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testGetSetDeleteHas(t *testing.T, e *env) {
	st := e.fresh(t)

	set(t, st, "key", "one")
	assert.Equal(t, []byte("one"), get(t, st, "key"))
	assert.True(t, has(t, st, "key"))

	set(t, st, "key", "two")
	assert.Equal(t, []byte("two"), get(t, st, "key"), "set overwrites")

	set(t, st, "other", "three")
	require.NoError(t, st.Delete("key"))
	assert.Nil(t, get(t, st, "key"), "deleted key reads as missing")
	assert.False(t, has(t, st, "key"))
	assert.Equal(t, []byte("three"), get(t, st, "other"), "delete touches only its key")

	set(t, st, "key", "again")
	assert.Equal(t, []byte("again"), get(t, st, "key"), "a deleted key can be set again")

	bin := string([]byte{0, 0xff, '\n', 0})
	set(t, st, bin, string([]byte{0xff, 0}))
	assert.Equal(t, []byte{0xff, 0}, get(t, st, bin), "keys and values are binary safe")

	set(t, st, "", "empty key")
	assert.Equal(t, []byte("empty key"), get(t, st, ""), "the empty key is a key")
}

func testMissingKeys(t *testing.T, e *env) {
	st := e.fresh(t)

	value, err := st.Get("missing")
	require.NoError(t, err, "a missing key is not an error")
	assert.Nil(t, value, "a missing key reads as nil")
	assert.False(t, has(t, st, "missing"))
	require.NoError(t, st.Delete("missing"), "deleting a missing key is not an error")
	assert.False(t, has(t, st, "missing"), "delete does not create the key")
}

func testNilAndEmptyValues(t *testing.T, e *env) {
	st := e.fresh(t)

	require.NoError(t, st.Set("nil", nil), "a nil value is allowed")
	require.NoError(t, st.Set("empty", []byte{}))
	for _, key := range []string{"nil", "empty"} {
		value := get(t, st, key)
		assert.NotNil(t, value, "%s: an empty value must differ from a missing key", key)
		assert.Empty(t, value, key)
		assert.True(t, has(t, st, key), key)
	}
	assert.Equal(t, pairs("empty", "", "nil", ""), all(t, st), "empty values are iterated")

	require.NoError(t, st.Delete("nil"))
	assert.Nil(t, get(t, st, "nil"), "an empty value can be deleted")
}

func testReturnedCopies(t *testing.T, e *env) {
	st := e.fresh(t)

	input := []byte("value")
	require.NoError(t, st.Set("key", input))
	input[0] = 'X'
	assert.Equal(t, []byte("value"), get(t, st, "key"), "Set must copy its value")

	got := get(t, st, "key")
	got[0] = 'Y'
	assert.Equal(t, []byte("value"), get(t, st, "key"), "Get must return a copy")

	it, err := st.Iterator()
	require.NoError(t, err)
	require.True(t, it.Next())
	value, err := it.Value()
	require.NoError(t, err)
	value[0] = 'Z'
	again, err := it.Value()
	require.NoError(t, err)
	assert.Equal(t, []byte("value"), again, "Value must return a copy")
	it.Release()
	assert.Equal(t, []byte("value"), get(t, st, "key"), "Value must return a copy")
}

func testOffsets(t *testing.T, e *env) {
	st := e.fresh(t)

	assert.Equal(t, int64(-3), offset(t, st, -3), "default before any offset")
	assert.Equal(t, int64(42), offset(t, st, 42), "default before any offset")

	require.NoError(t, st.SetOffset(0))
	assert.Equal(t, int64(0), offset(t, st, -3), "zero is a stored offset, not the default")

	require.NoError(t, st.SetOffset(17))
	assert.Equal(t, int64(17), offset(t, st, -3))

	require.NoError(t, st.SetOffset(5))
	assert.Equal(t, int64(5), offset(t, st, -3), "offsets may go back")

	require.NoError(t, st.MarkRecovered())
	require.NoError(t, st.MarkRecovered(), "MarkRecovered is idempotent")
	assert.Equal(t, int64(5), offset(t, st, -3), "MarkRecovered keeps the offset")

	require.NoError(t, st.SetOffset(1<<62))
	assert.Equal(t, int64(1<<62), offset(t, st, -3), "offsets after MarkRecovered")

	set(t, st, "key", "value")
	assert.Equal(t, int64(1<<62), offset(t, st, -3), "data writes do not move the offset")
}

func testPersistence(t *testing.T, e *env) {
	st := e.open(t, "persist", 3)
	set(t, st, "a", "1", "b", "2", "gone", "x")
	require.NoError(t, st.Set("empty", nil))
	require.NoError(t, st.Delete("gone"))
	require.NoError(t, st.SetOffset(99))
	require.NoError(t, st.Close())

	st = e.open(t, "persist", 3)
	assert.Equal(t, int64(99), offset(t, st, -3), "offset survives Close")
	assert.Equal(t, pairs("a", "1", "b", "2", "empty", ""), all(t, st), "data survives Close")
	assert.NotNil(t, get(t, st, "empty"), "an empty value stays distinct from a missing key")
	assert.False(t, has(t, st, "gone"), "a delete survives Close")

	other := e.open(t, "persist", 4)
	assert.Empty(t, all(t, other), "partitions are separate")
	assert.Equal(t, int64(-3), offset(t, other, -3), "partitions are separate")
	require.NoError(t, other.Close())

	b := batchOf(map[string]string{"c": "3"}, []string{"a"}, 100)
	require.NoError(t, writeBatch(st, b))
	require.NoError(t, st.Close())

	st = e.open(t, "persist", 3)
	assert.Equal(t, int64(100), offset(t, st, -3), "a batch offset survives Close")
	assert.Equal(t, pairs("b", "2", "c", "3", "empty", ""), all(t, st), "batch data survives Close")
}
