package commit

import (
	"math/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInOrderCompletion(t *testing.T) {
	var tr Tracker
	a := tr.Start(10)
	b := tr.Start(11)
	next, moved := tr.Done(a)
	assert.True(t, moved)
	assert.Equal(t, int64(11), next)
	next, moved = tr.Done(b)
	assert.True(t, moved)
	assert.Equal(t, int64(12), next)
	assert.Equal(t, 0, tr.Pending())
}

func TestOutOfOrderCompletionWaitsForTheFront(t *testing.T) {
	var tr Tracker
	a := tr.Start(5)
	b := tr.Start(7) // offsets may have gaps (compaction, control records)
	c := tr.Start(8)

	_, moved := tr.Done(c)
	assert.False(t, moved, "8 finished but 5 has not: nothing may be committed")
	_, moved = tr.Done(b)
	assert.False(t, moved)
	next, moved := tr.Done(a)
	assert.True(t, moved)
	assert.Equal(t, int64(9), next, "the whole run is released at once")
}

func TestDoneTwiceIsIgnored(t *testing.T) {
	var tr Tracker
	a := tr.Start(1)
	b := tr.Start(2)
	_, moved := tr.Done(a)
	require.True(t, moved)
	_, moved = tr.Done(a)
	assert.False(t, moved)
	assert.Equal(t, 1, tr.Pending())
	next, _ := tr.Done(b)
	assert.Equal(t, int64(3), next)
}

func TestNeverCommitsPastAPendingMessage(t *testing.T) {
	// Random completion order over many messages, with a message that never
	// completes (a failed one): the released offset must never pass it.
	const n = 5000
	const failed = 3210
	var tr Tracker
	tickets := make([]Ticket, n)
	for i := range tickets {
		tickets[i] = tr.Start(int64(i))
	}
	order := rand.New(rand.NewSource(1)).Perm(n)
	var mu sync.Mutex
	var highest int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				idx := order[i]
				if idx == failed {
					continue
				}
				if next, moved := tr.Done(tickets[idx]); moved {
					mu.Lock()
					if next > highest {
						highest = next
					}
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	assert.Equal(t, int64(failed), highest, "everything before the failed message is released, nothing after")
	assert.Equal(t, n-failed, tr.Pending())
}

func BenchmarkStartDone(b *testing.B) {
	var tr Tracker
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tr.Done(tr.Start(int64(i)))
	}
}
