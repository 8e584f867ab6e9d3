package codec

import (
	"errors"
	"strconv"
)

// Int64 stores an int64 as decimal ASCII text ("-42", not eight binary
// bytes). That is goka's wire format; keeping it means counters written by
// goka and by this library read the same.
type Int64 struct{}

// Encode writes an int64 in the canonical form of strconv.FormatInt. Only
// int64 is accepted, not int or int32, as in goka: a silent conversion would
// hide a mismatch between the types a callback emits and a table holds.
func (*Int64) Encode(value any) ([]byte, error) {
	n, ok := value.(int64)
	if !ok {
		return nil, wrongType("Int64", "int64", value)
	}
	return strconv.AppendInt(nil, n, 10), nil
}

// Decode parses data as strconv.ParseInt does in base 10, so it also accepts
// non-canonical text such as "+7" or "007" that another writer may produce.
// Empty data, anything but an optional sign and digits, and numbers outside
// the int64 range return a *DecodeError; its cause is strconv.ErrSyntax or
// strconv.ErrRange, or nil for empty data.
func (*Int64) Decode(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, newDecodeError("Int64", "decimal digits", data, nil)
	}
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err == nil {
		return n, nil
	}
	// The NumError would repeat the whole input; keep only its cause and let
	// DecodeError show a bounded excerpt.
	cause := err
	var numErr *strconv.NumError
	if errors.As(err, &numErr) {
		cause = numErr.Err
	}
	expected := "decimal digits"
	if errors.Is(cause, strconv.ErrRange) {
		expected = "a decimal number in int64 range"
	}
	return nil, newDecodeError("Int64", expected, data, cause)
}
