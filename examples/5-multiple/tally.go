package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

const (
	likes  goka.Stream = "example-multiple-likes"
	shares goka.Stream = "example-multiple-shares"
	group  goka.Group  = "example-multiple"
)

// Tally is the value of the group table: what happened to one post.
type Tally struct {
	Likes  int64 `json:"likes"`
	Shares int64 `json:"shares"`
}

var tallyCodec = new(codec.JSON[Tally])

// graph has two inputs writing to one table. Both are keyed by post, so a
// post's likes and shares land in the same partition and the same callback
// sees them in order.
func graph() *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(likes, new(codec.String), func(ctx goka.Context, _ interface{}) {
			t := current(ctx)
			t.Likes++
			ctx.SetValue(t)
		}),
		goka.Input(shares, new(codec.String), func(ctx goka.Context, _ interface{}) {
			t := current(ctx)
			t.Shares++
			ctx.SetValue(t)
		}),
		goka.Persist(tallyCodec),
	)
}

// current is the post's tally so far, zero for a new post.
func current(ctx goka.Context) Tally {
	if v := ctx.Value(); v != nil {
		return v.(Tally)
	}
	return Tally{}
}

// emit sends a like and a share, each for one of a few posts and from one of
// a few users, every -interval until ctx ends. Every copy emits, so three
// copies triple the traffic.
func emit(ctx context.Context, brokers []string, reg prometheus.Registerer) error {
	le, err := goka.NewEmitter(brokers, likes, new(codec.String), goka.WithEmitterMetrics(reg))
	if err != nil {
		return err
	}
	defer le.Finish()
	se, err := goka.NewEmitter(brokers, shares, new(codec.String), goka.WithEmitterMetrics(reg))
	if err != nil {
		return err
	}
	defer se.Finish()

	posts := []string{"post-1", "post-2", "post-3", "post-4", "post-5", "post-6", "post-7", "post-8"}
	users := []string{"alice", "bob", "carol", "dave"}
	ticker := time.NewTicker(*interval)
	defer ticker.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		// Different strides, so that likes and shares hit different posts.
		if err := le.EmitSync(posts[i%len(posts)], users[i%len(users)]); err != nil {
			return fmt.Errorf("emitting a like: %w", err)
		}
		if err := se.EmitSync(posts[(i*3)%len(posts)], users[(i+1)%len(users)]); err != nil {
			return fmt.Errorf("emitting a share: %w", err)
		}
	}
}

// ownership remembers which partitions this copy was given in the last
// rebalance.
type ownership struct {
	mu         sync.Mutex
	partitions []int32
}

// rebalanced is the processor's rebalance callback: it runs at the start of
// every session, that is after every rebalance of the group.
func (o *ownership) rebalanced(a goka.Assignment) {
	parts := slices.Sorted(maps.Keys(a))
	o.mu.Lock()
	o.partitions = parts
	o.mu.Unlock()
	fmt.Printf("[rebalance] this copy now owns partitions %v\n", parts)
}

func (o *ownership) owned() []int32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.partitions
}

// report prints every -status what this copy owns and, from the view (which
// holds every partition, whoever processes it), the totals of the table.
func report(ctx context.Context, owned *ownership, view *goka.View) error {
	ticker := time.NewTicker(*status)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if !view.Recovered() {
			fmt.Printf("[status] partitions %v; view recovering\n", owned.owned())
			continue
		}
		posts, total, err := sum(view)
		if err != nil {
			if ctx.Err() != nil {
				return nil // the view stopped under us: shutting down
			}
			return err
		}
		fmt.Printf("[status] partitions %v; view: %d posts, %d likes, %d shares\n",
			owned.owned(), posts, total.Likes, total.Shares)
	}
}

// sum adds up every tally in the view.
func sum(view *goka.View) (posts int, total Tally, err error) {
	it, err := view.Iterator()
	if err != nil {
		return 0, Tally{}, fmt.Errorf("iterating the view: %w", err)
	}
	defer it.Release()
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			return 0, Tally{}, fmt.Errorf("reading %q from the view: %w", it.Key(), err)
		}
		t := v.(Tally)
		posts++
		total.Likes += t.Likes
		total.Shares += t.Shares
	}
	return posts, total, it.Err()
}
