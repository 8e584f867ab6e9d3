package main

import (
	"context"
	"fmt"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
)

// UserStats is the value of the group table, stored in Redis as JSON.
type UserStats struct {
	Events int64  `json:"events"`
	Last   string `json:"last"`
}

// graph counts the events of every user; nothing in it knows about Redis,
// which is the storage builder's business alone.
func graph(group goka.Group, stream goka.Stream) *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(stream, new(codec.String), count),
		goka.Persist(new(codec.JSON[UserStats])),
	)
}

func count(ctx goka.Context, msg interface{}) {
	var s UserStats
	if v := ctx.Value(); v != nil {
		s = v.(UserStats)
	}
	s.Events++
	s.Last = msg.(string)
	ctx.SetValue(s)
	fmt.Printf("[proc] partition %d: %s has %d events, last %q\n", ctx.Partition(), ctx.Key(), s.Events, s.Last)
}

// emit sends an event for one of a few users every -interval until ctx ends.
func emit(ctx context.Context, brokers []string) error {
	emitter, err := goka.NewEmitter(brokers, goka.Stream(*streamName), new(codec.String))
	if err != nil {
		return err
	}
	defer emitter.Finish()
	// One user per partition at least, with the default four.
	users := []string{"alice", "bob", "carol", "dave", "erin", "ivan"}
	actions := []string{"login", "view", "search", "view", "logout"}
	ticker := time.NewTicker(*interval)
	defer ticker.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := emitter.EmitSync(users[i%len(users)], actions[i%len(actions)]); err != nil {
			return fmt.Errorf("emitting: %w", err)
		}
	}
}
