package codec

// String stores a string as its bytes, with no length prefix or terminator,
// exactly as goka does. It does not check for valid UTF-8, because goka
// does not, and a topic may hold any bytes.
type String struct{}

// Encode returns the bytes of a string. Any other type, including []byte,
// is an *EncodeError matching ErrWrongType.
func (*String) Encode(value any) ([]byte, error) {
	s, ok := value.(string)
	if !ok {
		return nil, wrongType("String", "string", value)
	}
	return []byte(s), nil
}

// Decode returns string(data); nil or empty data gives "". It never fails.
func (*String) Decode(data []byte) (any, error) {
	return string(data), nil
}
