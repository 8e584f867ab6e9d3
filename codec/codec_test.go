package codec_test

import (
	"errors"
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gokaCodec mirrors goka.Codec; the root package cannot be imported here
// because it imports this package.
type gokaCodec interface {
	Encode(value any) (data []byte, err error)
	Decode(data []byte) (value any, err error)
}

var (
	_ gokaCodec = new(codec.Bytes)
	_ gokaCodec = new(codec.String)
	_ gokaCodec = new(codec.Int64)
	_ gokaCodec = new(codec.JSON[struct{}])
)

// requireWrongType checks the contract every codec shares for a value of the
// wrong Go type: nil data and an *EncodeError naming both types.
func requireWrongType(t *testing.T, data []byte, err error, wantMsg string) {
	t.Helper()
	require.Error(t, err)
	assert.Nil(t, data)
	assert.EqualError(t, err, wantMsg)
	assert.ErrorIs(t, err, codec.ErrWrongType)
	var encErr *codec.EncodeError
	require.ErrorAs(t, err, &encErr)
	assert.NotEmpty(t, encErr.Codec)
	assert.NotEmpty(t, encErr.Expected)
	assert.NotEmpty(t, encErr.Actual)
}

// requireMalformed checks the contract every codec shares for bytes it cannot
// read: a nil value and a *DecodeError that matches ErrMalformed and keeps a
// bounded copy of the input.
func requireMalformed(t *testing.T, input []byte, value any, err error) *codec.DecodeError {
	t.Helper()
	require.Error(t, err)
	assert.Nil(t, value)
	assert.ErrorIs(t, err, codec.ErrMalformed)
	var decErr *codec.DecodeError
	require.True(t, errors.As(err, &decErr), "want *codec.DecodeError, got %T", err)
	assert.Equal(t, len(input), decErr.Size)
	assert.LessOrEqual(t, len(decErr.Data), 32)
	assert.Equal(t, string(input[:len(decErr.Data)]), string(decErr.Data))
	// Long inputs must not produce long messages.
	assert.Less(t, len(err.Error()), 400, "error message too long: %s", err)
	return decErr
}
