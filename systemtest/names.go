package systemtest

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// nameSeq tells apart names made within one clock tick.
var nameSeq atomic.Uint64

// UniqueName returns a topic or group name that no earlier run used: tests
// share one broker, and with KAFKA_KEEP_DATA=1 it keeps topics across runs.
// The test's name is in it so that a broker's log points back to the test.
func UniqueName(tb testing.TB, prefix string) string {
	tb.Helper()
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		default:
			return '-'
		}
	}, tb.Name())
	const maxTestPart = 150 // Kafka allows 249 characters in a topic name.
	if len(name) > maxTestPart {
		name = name[:maxTestPart]
	}
	return fmt.Sprintf("%s-%s-%d-%d", prefix, name, time.Now().UnixNano(), nameSeq.Add(1))
}
