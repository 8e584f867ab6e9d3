package codec

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// JSON stores values of type T as JSON through encoding/json, so struct tags,
// json.Marshaler and json.Unmarshaler all apply. It is not one of goka's
// codecs; it replaces the small JSON codec nearly every goka user writes.
//
// A value survives Encode and Decode exactly as far as encoding/json keeps
// it: for example a field tagged omitempty turns an empty map or slice into
// nil, and an untyped (interface) field gets its numbers back as float64.
//
// Decode returns a T value, not a *T, so a callback type-asserts
// msg.(User) for a JSON[User]. Use JSON[*User] to get pointers instead.
type JSON[T any] struct{}

// typeName is the name of T used in errors, e.g. "main.User".
func (*JSON[T]) typeName() string {
	return reflect.TypeFor[T]().String()
}

// name is the codec's name used in errors, e.g. "JSON[main.User]".
func (c *JSON[T]) name() string {
	return "JSON[" + c.typeName() + "]"
}

// Encode marshals a T or a *T; a nil *T encodes to "null". For an interface
// type T (e.g. JSON[any]) a nil value is a valid T and also encodes to
// "null". Any other type is an *EncodeError matching ErrWrongType; a
// marshalling failure is an *EncodeError wrapping the encoding/json error.
func (c *JSON[T]) Encode(value any) ([]byte, error) {
	var target any
	switch v := value.(type) {
	case T:
		target = v
	case *T:
		target = v
	default:
		var zero T
		if value != nil || any(zero) != nil {
			return nil, wrongType(c.name(), c.typeName()+" or *"+c.typeName(), value)
		}
		// T is an interface type and value is its nil: a legal T that no
		// type assertion can match.
	}
	data, err := json.Marshal(target)
	if err != nil {
		return nil, &EncodeError{
			Codec:    c.name(),
			Expected: c.typeName() + " or *" + c.typeName(),
			Actual:   fmt.Sprintf("%T", value),
			Err:      err,
		}
	}
	return data, nil
}

// Decode unmarshals one JSON document into a new T and returns the T.
// Unknown object fields are ignored and "null" gives the zero T, as
// encoding/json does. Nil or empty data, invalid JSON, trailing data and
// JSON that does not fit T return a *DecodeError wrapping the encoding/json
// error (*json.SyntaxError, *json.UnmarshalTypeError, ...).
func (c *JSON[T]) Decode(data []byte) (any, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, newDecodeError(c.name(), "JSON for "+c.typeName(), data, err)
	}
	return v, nil
}
