// Package codec holds the codecs that turn the values a processor, view or
// emitter sees into the bytes Kafka stores, and back.
//
// Every codec here satisfies goka.Codec:
//
//	Encode(value interface{}) (data []byte, err error)
//	Decode(data []byte) (value interface{}, err error)
//
// This package does not import the root package; the root imports it.
//
// # Codecs and wire formats
//
// Bytes, String and Int64 are goka's codecs and write goka's wire formats
// byte for byte, so a topic written by goka can be read by this library and
// the other way round. JSON is our addition: one generic codec for any Go
// type that encoding/json can handle.
//
//	Codec     Encode accepts   Bytes on the wire               Decode returns
//	Bytes     []byte           the bytes unchanged             []byte (the same slice)
//	String    string           the string's bytes              string
//	Int64     int64            decimal ASCII, e.g. "-42"       int64
//	JSON[T]   T or *T          encoding/json output            T (a value, not *T)
//
// All codecs have pointer receivers, as goka's do, so a codec is written
// new(codec.String) or new(codec.JSON[User]). They have no state and are safe
// for concurrent use.
//
// # Errors
//
// Encode of a value of the wrong Go type returns nil data and an
// *EncodeError that names the expected and the actual type, for example
// "codec: Int64 expects int64, got string"; errors.Is(err, ErrWrongType)
// holds. (goka's Bytes codec returned the value together with its error; we
// return nil data, because no caller should write data that failed to encode.)
//
// Decode of bytes a codec cannot read returns a nil value and a *DecodeError
// that says what was expected and shows (at most the first 32 bytes of) what
// came, for example
//
//	codec: Int64 expects decimal digits, got 3 bytes "a\x00b": invalid syntax
//
// errors.Is(err, ErrMalformed) holds, and the underlying cause (a strconv or
// encoding/json error) stays reachable through errors.Is and errors.As.
// No codec panics on any input.
//
// # Nil and empty data
//
// Kafka marks a deleted key with a nil value, and the library decides what to
// do with such tombstones before a codec sees them. When a codec does get nil
// or empty data: Bytes returns it as is, String returns "", and Int64 and
// JSON return a *DecodeError, because an empty text is not a number and not a
// JSON document.
package codec
