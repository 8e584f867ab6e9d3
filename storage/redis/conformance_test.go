package redis

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/seed-b2c684ed/goka/storage"
	"github.com/seed-b2c684ed/goka/storage/storagetest"
)

// namespaces numbers the conformance namespaces across every run of the
// test (-count shares one server), so that each sub-test starts empty.
var namespaces atomic.Int64

func TestConformance(t *testing.T) {
	client := newClient(t)
	// A namespace per sub-test gives every sub-test empty partitions, and a
	// Builder called again for the same topic reopens the same hash, which
	// is what the persistence checks need.
	storagetest.Run(t, func(t *testing.T) storage.Builder {
		return RedisBuilder(client, fmt.Sprintf("conformance-%d", namespaces.Add(1)))
	}, storagetest.Capabilities{Persistent: true})
}
