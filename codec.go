package goka

// Codec turns the values a callback sees into the bytes Kafka stores and back.
// Every edge of a group graph, every view and every emitter carries one, so the
// same topic is always read and written with the same encoding. The codec
// package has goka's codecs (Bytes, String, Int64) and a generic JSON codec.
//
// Decode may keep the slice it is given: the library hands every call a slice
// of its own and never writes to it afterwards. Decode of bytes it cannot read returns an error; the processor treats that as
// a failure of the message and stops without committing past it.
type Codec interface {
	Encode(value interface{}) (data []byte, err error)
	Decode(data []byte) (value interface{}, err error)
}
