package codec

// Bytes is goka's default codec: the value is the raw message. Decode hands
// back the slice it was given without copying; the library gives every call
// a slice of its own, so keeping it is safe.
type Bytes struct{}

// Encode passes a []byte through unchanged; a nil slice encodes to nil data.
// Any other type is an *EncodeError matching ErrWrongType.
func (*Bytes) Encode(value any) ([]byte, error) {
	data, ok := value.([]byte)
	if !ok {
		return nil, wrongType("Bytes", "[]byte", value)
	}
	return data, nil
}

// Decode returns data itself as a []byte; it never fails.
func (*Bytes) Decode(data []byte) (any, error) {
	return data, nil
}
