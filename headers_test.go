package goka

import (
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
)

func TestHeadersMerged(t *testing.T) {
	var none Headers
	assert.Nil(t, none.Merged())
	assert.Nil(t, none.Merged(Headers{}, nil))

	base := Headers{"a": []byte("1"), "b": []byte("1")}
	merged := base.Merged(Headers{"b": []byte("2")}, Headers{"c": []byte("3")})
	assert.Equal(t, Headers{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}, merged)
	// The receiver is not changed.
	assert.Equal(t, []byte("1"), base["b"])
}

func TestHeadersSarama(t *testing.T) {
	h := HeadersFromSarama([]*sarama.RecordHeader{
		{Key: []byte("k"), Value: []byte("first")},
		nil,
		{Key: []byte("k"), Value: []byte("last")},
	})
	assert.Equal(t, Headers{"k": []byte("last")}, h)
	assert.NotNil(t, HeadersFromSarama(nil))

	var none Headers
	assert.Nil(t, none.ToSarama())
	assert.Nil(t, none.ToSaramaPtr())
	assert.Equal(t, []sarama.RecordHeader{{Key: []byte("k"), Value: []byte("v")}}, Headers{"k": []byte("v")}.ToSarama())
	assert.Equal(t, Headers{"k": []byte("v")}, HeadersFromSarama(Headers{"k": []byte("v")}.ToSaramaPtr()))
}
