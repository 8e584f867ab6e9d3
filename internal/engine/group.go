package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/copartition"
	"github.com/seed-b2c684ed/goka/internal/metrics"
	"github.com/seed-b2c684ed/goka/internal/signal"
)

// The states of a processor, in lifecycle order (the API's ProcState
// values); the group sets those of a session.
const (
	ProcIdle signal.State = iota
	ProcStarting
	ProcSetup
	ProcRunning
	ProcStopping
	ProcStopped
	// ProcRestarting is set by the API between two runs of a processor
	// that restarts after a failure; the group never sets it.
	ProcRestarting
)

// Group runs the partitions of one processor instance: it is the sarama
// ConsumerGroupHandler of the processor's sessions, turning every session
// into partitions, and it knows the partitions of the current session.
type Group struct {
	cfg   *Config
	state *signal.Signal // the processor's

	mu         sync.RWMutex
	partitions map[int32]*Partition
	// starting counts the goroutines that start the session's partitions,
	// Setup's and those of incremental changes (incremental.go).
	starting sync.WaitGroup

	// reported are the active partitions the rebalance callback was last
	// told of; reportMu orders the calls.
	reportMu sync.Mutex
	reported []int32
}

// NewGroup returns the group of a processor whose state is state.
func NewGroup(cfg *Config, state *signal.Signal) *Group {
	return &Group{cfg: cfg, state: state, partitions: make(map[int32]*Partition)}
}

// Partition returns the session's partition number n, if the instance
// holds it.
func (g *Group) Partition(n int32) (*Partition, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	p, ok := g.partitions[n]
	return p, ok
}

// Partitions returns the session's partitions, sorted by number.
func (g *Group) Partitions() []*Partition {
	g.mu.RLock()
	all := make([]*Partition, 0, len(g.partitions))
	for _, p := range g.partitions {
		all = append(all, p)
	}
	g.mu.RUnlock()
	sort.Slice(all, func(i, j int) bool { return all[i].partition < all[j].partition })
	return all
}

// fail records a setup error with the processor and counts it.
func (g *Group) fail(err error) error {
	g.cfg.Metrics.Error(metrics.ErrSetup)
	g.cfg.OnFail(err)
	return err
}

// marker returns how an active partition's processed offsets reach the
// session. Under exactly-once they go with the transactions instead (see
// Transactor): marked in the session too, sarama's auto-commit would commit
// them before the transaction holding their writes, and a crash in between
// would lose those messages.
func (g *Group) marker(session sarama.ConsumerGroupSession, partition int32) func(topic string, offset int64) {
	if g.cfg.Txn != nil {
		return func(string, int64) {}
	}
	return func(topic string, offset int64) { session.MarkOffset(topic, partition, offset, "") }
}

// Setup checks that the session's claims are co-partitioned, moves those
// whose committed offset fell out of their topic to its oldest offset
// (resumeInRange), starts one active partition per assigned partition
// (restoring its tables) and, with hot standby, a passive one for every
// other table partition.
func (g *Group) Setup(session sarama.ConsumerGroupSession) error {
	cfg := g.cfg
	g.state.SetState(ProcSetup)
	cfg.Metrics.Rebalanced()
	assigned, err := copartitionedClaims(session.Claims())
	if err != nil {
		return g.fail(fmt.Errorf("processor %q: %w", cfg.Plan.Group, err))
	}
	if _, err := g.resumeInRange(session, session.Claims()); err != nil {
		return g.fail(fmt.Errorf("processor %q: %w", cfg.Plan.Group, err))
	}
	g.reportMu.Lock()
	g.reported = assigned
	err = cfg.Rebalanced(assigned)
	g.reportMu.Unlock()
	if err != nil {
		return g.fail(err)
	}
	if len(assigned) == 0 {
		cfg.Log.Printf("this session assigns no partition to this instance")
	}

	if err := cfg.Stores.Retain(g.keepsPartition(assigned)); err != nil {
		// The partitions that left were stopped and marked clean by the
		// last session; a store that fails to close loses nothing.
		cfg.Log.Printf("closing the local tables of partitions that left this instance: %v", err)
	}
	if cfg.Txn != nil {
		cfg.Txn.SetSession(session)
	}
	parts := make(map[int32]*Partition)
	for _, partition := range assigned {
		parts[partition] = NewPartition(cfg, partition, RoleActive, g.marker(session, partition))
	}
	if cfg.HotStandby && cfg.Plan.Table != "" {
		for partition := int32(0); partition < cfg.NumPartitions; partition++ {
			if _, ok := parts[partition]; !ok {
				parts[partition] = NewPartition(cfg, partition, RolePassive, nil)
			}
		}
	}
	g.mu.Lock()
	g.partitions = parts
	g.mu.Unlock()
	g.startAll(session.Context(), parts)
	return nil
}

// startAll starts the session's partitions, each on its own goroutine, and
// returns at once: a partition whose stores still wait for a callback left
// behind by the last session (see stores.Entry.Wait) must not hold up the
// others, which a Setup waiting for every Start did. ConsumeClaim waits for
// its own partition. The processor is Running once every Start returned; a
// failed one fails the processor. Cleanup waits for all of it.
func (g *Group) startAll(ctx context.Context, parts map[int32]*Partition) {
	errs := make(chan error, len(parts))
	for _, p := range parts {
		g.starting.Add(1)
		go func() {
			defer g.starting.Done()
			defer close(p.started)
			errs <- p.Start(ctx, ctx)
		}()
	}
	// parts is the group's map, which a cooperative rebalance changes from
	// now on: count the starts before.
	n := len(parts)
	g.starting.Add(1)
	go func() {
		defer g.starting.Done()
		var all []error
		for range n {
			if err := <-errs; err != nil {
				all = append(all, err)
			}
		}
		if err := errors.Join(all...); err != nil {
			g.fail(err)
		}
		g.state.SetState(ProcRunning)
	}()
}

// ConsumeClaim forwards the messages of one topic-partition to its
// partition's goroutine, which serialises them with the partition's other
// topics, until the partition's context ends. Under the cooperative
// protocol a claim may come without a new session, for a partition the
// instance did not run (claimed starts it), and end without the session's
// end, revoked (released stops it).
func (g *Group) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	p := g.claimed(session, claim)
	select {
	case <-p.started:
	case <-session.Context().Done():
		return nil
	}
	if !p.Recovered() {
		return nil // the session ended while it started, or it failed
	}
	p.setClaim(claim)
	done := p.ctx.Done()
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return g.released(session, p)
			}
			select {
			case p.input <- msg:
				continue
			default:
			}
			select {
			case p.input <- msg:
			case <-done:
				return nil
			}
		case <-done:
			return nil
		}
	}
}

// Cleanup stops every partition of the session and commits the offsets
// they marked.
func (g *Group) Cleanup(session sarama.ConsumerGroupSession) error {
	// The session's context has ended: the Starts still running return
	// soon, and Stop must come after them.
	g.starting.Wait()
	g.state.SetState(ProcStopping)
	g.mu.Lock()
	parts := g.partitions
	g.partitions = make(map[int32]*Partition)
	g.mu.Unlock()

	errs := make([]error, 0, len(parts))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Stop(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	session.Commit()
	g.state.SetState(ProcStopped)
	return errors.Join(errs...)
}

// copartitionedClaims returns the partitions of a session's claims, which
// must be the same for every topic: a partition serves all topics of its
// number.
func copartitionedClaims(claims map[string][]int32) ([]int32, error) {
	var (
		first     []int32
		firstName string
	)
	topics := make([]string, 0, len(claims))
	for topic := range claims {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	for _, topic := range topics {
		parts := append([]int32(nil), claims[topic]...)
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		if first == nil {
			first, firstName = parts, topic
			continue
		}
		if fmt.Sprint(parts) != fmt.Sprint(first) {
			return nil, fmt.Errorf("session claims are not copartitioned: topic %s has partitions %v, topic %s has %v: %w", firstName, first, topic, parts, copartition.ErrNotCopartitioned)
		}
	}
	return first, nil
}

// keepsPartition tells the store registry which partitions stay on the
// instance for the session that assigns assigned: those, and with hot
// standby or recover-ahead every partition, whose tables the instance keeps
// warm.
func (g *Group) keepsPartition(assigned []int32) func(int32) bool {
	if g.cfg.HotStandby || g.cfg.RecoverAhead {
		return func(int32) bool { return true }
	}
	keep := make(map[int32]bool, len(assigned))
	for _, partition := range assigned {
		keep[partition] = true
	}
	return func(partition int32) bool { return keep[partition] }
}

// RecoverAhead restores every partition of the group table and the joins
// once before the group is joined. The registry keeps them open: a partition
// the group then assigns restores only what was written since.
func (g *Group) RecoverAhead(ctx context.Context) error {
	if g.cfg.Plan.Table == "" && len(g.cfg.Plan.Joins) == 0 {
		return nil
	}
	errs := make([]error, g.cfg.NumPartitions)
	var wg sync.WaitGroup
	for partition := int32(0); partition < g.cfg.NumPartitions; partition++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := NewPartition(g.cfg, partition, RoleRecoverOnly, nil)
			errs[partition] = errors.Join(p.Start(ctx, ctx), p.Stop())
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
