package codec

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrWrongType is matched by every *EncodeError caused by a value of a Go
// type the codec does not encode, so callers can tell a programming mistake
// from data that merely failed to marshal.
var ErrWrongType = errors.New("codec: wrong type")

// ErrMalformed is matched by every *DecodeError, so callers can tell bytes
// that cannot be read from other failures without knowing which codec ran.
var ErrMalformed = errors.New("codec: malformed data")

// maxShownBytes bounds how much of the input a DecodeError keeps and prints:
// enough to recognise the data, small enough that one bad message of
// megabytes does not flood a log.
const maxShownBytes = 32

// EncodeError reports a value a codec could not encode. It carries the type
// names so that a caller or a log shows the mismatch without reproducing it.
type EncodeError struct {
	// Codec names the codec, e.g. "Int64" or "JSON[main.User]".
	Codec string
	// Expected describes what Encode accepts, e.g. "int64".
	Expected string
	// Actual is the Go type of the value given, "<nil>" for nil.
	Actual string
	// Err is the cause: ErrWrongType for a type mismatch, otherwise the
	// error of the underlying encoder (e.g. from encoding/json).
	Err error
}

// Error reads "codec: <codec> expects <expected>, got <actual>" for a type
// mismatch, and names the cause for any other failure.
func (e *EncodeError) Error() string {
	if errors.Is(e.Err, ErrWrongType) {
		return fmt.Sprintf("codec: %s expects %s, got %s", e.Codec, e.Expected, e.Actual)
	}
	return fmt.Sprintf("codec: %s cannot encode %s: %s", e.Codec, e.Actual, e.Err)
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *EncodeError) Unwrap() error { return e.Err }

// wrongType builds the error every codec returns for a value it does not accept.
func wrongType(codec, expected string, value any) *EncodeError {
	return &EncodeError{
		Codec:    codec,
		Expected: expected,
		Actual:   fmt.Sprintf("%T", value),
		Err:      ErrWrongType,
	}
}

// DecodeError reports bytes a codec could not decode. It keeps a short copy
// of the input, so the error stays valid after the caller reuses its buffer.
type DecodeError struct {
	// Codec names the codec, e.g. "Int64" or "JSON[main.User]".
	Codec string
	// Expected describes what the codec can read, e.g. "decimal digits".
	Expected string
	// Data is a copy of at most the first 32 bytes of the input.
	Data []byte
	// Size is the length of the whole input; Size > len(Data) means Data
	// was truncated.
	Size int
	// Err is the cause from the underlying parser (e.g. strconv.ErrSyntax,
	// *json.SyntaxError), or nil when the message says all there is.
	Err error
}

// newDecodeError copies at most maxShownBytes of data into the error.
func newDecodeError(codec, expected string, data []byte, cause error) *DecodeError {
	shown := data[:min(len(data), maxShownBytes)]
	return &DecodeError{
		Codec:    codec,
		Expected: expected,
		Data:     append([]byte(nil), shown...),
		Size:     len(data),
		Err:      cause,
	}
}

// Error reads "codec: <codec> expects <expected>, got <n> bytes "<quoted>"",
// followed by the cause if there is one.
func (e *DecodeError) Error() string {
	msg := fmt.Sprintf("codec: %s expects %s, got %s", e.Codec, e.Expected, e.describeData())
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// describeData quotes the kept bytes so control characters and invalid UTF-8
// stay visible and the message stays on one line.
func (e *DecodeError) describeData() string {
	if e.Size == 0 {
		return "no data"
	}
	unit := "bytes"
	if e.Size == 1 {
		unit = "byte"
	}
	quoted := strconv.Quote(string(e.Data))
	if e.Size > len(e.Data) {
		quoted += "..."
	}
	return fmt.Sprintf("%d %s %s", e.Size, unit, quoted)
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *DecodeError) Unwrap() error { return e.Err }

// Is makes every DecodeError match ErrMalformed, whatever its cause.
func (e *DecodeError) Is(target error) bool { return target == ErrMalformed }
