package goka

import "github.com/IBM/sarama"

// Headers are the headers of a Kafka record as a map. Like goka, the map form
// drops the order of headers and keeps only the last value of a repeated key.
type Headers map[string][]byte

// HeadersFromSarama converts sarama record headers. It always returns a
// non-nil map; when a key repeats, the last value wins.
func HeadersFromSarama(saramaHeaders []*sarama.RecordHeader) Headers {
	h := make(Headers, len(saramaHeaders))
	for _, rh := range saramaHeaders {
		if rh != nil {
			h[string(rh.Key)] = rh.Value
		}
	}
	return h
}

// Merged returns a new map with h and then every map of headersList, later
// keys winning. It returns nil when all of them are empty, so that emitting
// with no headers sends none at all.
func (h Headers) Merged(headersList ...Headers) Headers {
	n := len(h)
	for _, other := range headersList {
		n += len(other)
	}
	if n == 0 {
		return nil
	}
	merged := make(Headers, n)
	for k, v := range h {
		merged[k] = v
	}
	for _, other := range headersList {
		for k, v := range other {
			merged[k] = v
		}
	}
	return merged
}

// ToSarama converts the headers for a sarama ProducerMessage; nil stays nil.
func (h Headers) ToSarama() []sarama.RecordHeader {
	if h == nil {
		return nil
	}
	out := make([]sarama.RecordHeader, 0, len(h))
	for k, v := range h {
		out = append(out, sarama.RecordHeader{Key: []byte(k), Value: v})
	}
	return out
}

// ToSaramaPtr converts the headers to the pointer form sarama uses in
// ConsumerMessage; nil stays nil.
func (h Headers) ToSaramaPtr() []*sarama.RecordHeader {
	if h == nil {
		return nil
	}
	out := make([]*sarama.RecordHeader, 0, len(h))
	for k, v := range h {
		out = append(out, &sarama.RecordHeader{Key: []byte(k), Value: v})
	}
	return out
}
