package engine

import (
	"fmt"
	"slices"
	"sort"

	"github.com/IBM/sarama"
)

// Under the incremental cooperative protocol (KIP-429) sarama keeps one
// session across rebalances: Setup runs when the member joins and Cleanup
// when it leaves (or the session fails), and in between a rebalance only
// starts the claims the member gains and revokes those it loses, closing
// their Messages channels while the session's context goes on. The group
// follows that: claimed starts the partitions of new claims, released
// stops the partition of a revoked claim and commits it before sarama lets
// the partition go, and every other partition, active or hot-standby
// passive, runs on untouched. Under the eager protocol a session's claims
// are exactly Setup's and end with its context, so neither path is taken
// (but for a claim sarama closes on its own, whose partition released stops
// at once instead of in Cleanup): the group needs no flag to tell the
// protocols apart.
//
// A claim's only sign of its revocation is its Messages channel closing,
// which ConsumeClaim reads only once its partition started: a partition
// revoked while it still restores its tables (a second rebalance right
// after the one that added it) stops when the restore ended. sarama waits
// for that up to Consumer.Group.Rebalance.Timeout and then ends the session,
// which stops every partition, as an eager rebalance does.

// claimed returns the active partition of claim. A claim of a partition the
// instance does not run actively comes from a cooperative rebalance: every
// partition the session's claims gained is then started in one go (a
// passive one of hot standby stopped first, its tables kept), after the
// offset check Setup makes, and the rebalance callback hears of the new
// assignment once.
func (g *Group) claimed(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) *Partition {
	n := claim.Partition()
	g.mu.Lock()
	if p, ok := g.partitions[n]; ok && p.role == RoleActive {
		g.mu.Unlock()
		return p
	}
	added := addedClaims(session.Claims(), claim, func(partition int32) bool {
		p, ok := g.partitions[partition]
		return ok && p.role == RoleActive
	})
	ctx := session.Context()
	type handover struct{ from, to *Partition }
	starts := make([]handover, 0, len(added))
	for _, partition := range claimedPartitions(added) {
		p := NewPartition(g.cfg, partition, RoleActive, g.marker(session, partition))
		starts = append(starts, handover{from: g.partitions[partition], to: p})
		g.partitions[partition] = p
	}
	p := g.partitions[n]
	g.starting.Add(1)
	g.mu.Unlock()
	g.cfg.Log.Printf("a cooperative rebalance added partitions %v to this instance; the others run on", claimedPartitions(added))

	go func() {
		defer g.starting.Done()
		moved, err := g.resumeInRange(session, added)
		if err != nil {
			g.fail(fmt.Errorf("processor %q: %w", g.cfg.Plan.Group, err))
		}
		if err != nil || moved {
			if moved {
				// The claims started at offsets sarama reset: the session
				// ends (ConsumeClaim returns) and the next one resumes at
				// the offsets just marked.
				g.cfg.Log.Printf("ending the session so that the added partitions resume at the oldest offsets still in their topics")
			}
			for _, h := range starts {
				close(h.to.started)
			}
			return
		}
		for _, h := range starts {
			g.starting.Add(1)
			go func() {
				defer g.starting.Done()
				defer close(h.to.started)
				if h.from != nil {
					// The standby partition hands its tables over: it
					// must have stopped before the active one opens them.
					<-h.from.started
					if err := h.from.Stop(); err != nil {
						g.cfg.Log.Printf("stopping the standby of partition %d, which became active: %v", h.from.partition, err)
					}
				}
				if err := h.to.Start(ctx, ctx); err != nil {
					g.fail(err)
				}
			}()
		}
	}()
	g.report()
	return p
}

// addedClaims returns the claims of the session that active rejects, with
// claim's own in any case.
func addedClaims(claims map[string][]int32, claim sarama.ConsumerGroupClaim, active func(int32) bool) map[string][]int32 {
	added := make(map[string][]int32)
	for topic, partitions := range claims {
		for _, partition := range partitions {
			if !active(partition) {
				added[topic] = append(added[topic], partition)
			}
		}
	}
	if !slices.Contains(added[claim.Topic()], claim.Partition()) {
		added[claim.Topic()] = append(added[claim.Topic()], claim.Partition())
	}
	return added
}

// claimedPartitions returns the partition numbers of claims, sorted.
func claimedPartitions(claims map[string][]int32) []int32 {
	var all []int32
	for _, partitions := range claims {
		for _, partition := range partitions {
			if !slices.Contains(all, partition) {
				all = append(all, partition)
			}
		}
	}
	slices.Sort(all)
	return all
}

// released stops p, whose claim's Messages channel closed. While the
// session goes on, that is a cooperative rebalance revoking the partition
// (or sarama closing the claim, which ends the session next): p stops,
// marking the offsets of what it processed, and they are committed before
// ConsumeClaim returns and sarama hands the partition to its next owner.
// With hot standby a passive partition takes over its tables and follows
// them; otherwise its tables are closed, unless recover-ahead keeps them.
// The first of the partition's claims to be released does it; the others
// wait for the same stop.
func (g *Group) released(session sarama.ConsumerGroupSession, p *Partition) error {
	if session.Context().Err() != nil {
		return nil // the session ends: Cleanup stops every partition
	}
	n := p.partition
	g.mu.Lock()
	first := g.partitions[n] == p
	if first {
		delete(g.partitions, n)
	}
	g.mu.Unlock()
	err := p.Stop()
	if !first {
		return nil
	}
	session.Commit()
	if err != nil {
		g.cfg.Log.Printf("a cooperative rebalance revoked partition %d from this instance; it stopped with an error: %v", n, err)
	} else {
		g.cfg.Log.Printf("a cooperative rebalance revoked partition %d from this instance: stopped and committed; the others run on", n)
	}
	switch {
	case g.cfg.HotStandby && g.cfg.Plan.Table != "":
		standby := NewPartition(g.cfg, n, RolePassive, nil)
		g.mu.Lock()
		g.partitions[n] = standby
		g.starting.Add(1)
		g.mu.Unlock()
		ctx := session.Context()
		go func() {
			defer g.starting.Done()
			defer close(standby.started)
			if err := standby.Start(ctx, ctx); err != nil {
				g.fail(err)
			}
		}()
	case !g.cfg.RecoverAhead:
		if err := g.cfg.Stores.Retain(func(partition int32) bool { return partition != n }); err != nil {
			g.cfg.Log.Printf("closing the local tables of partition %d, which left this instance: %v", n, err)
		}
	}
	g.report()
	return err
}

// report tells the rebalance callback (and the rebalance metric) the active
// partitions after an incremental change, unless they are what it was told
// last.
func (g *Group) report() {
	g.reportMu.Lock()
	defer g.reportMu.Unlock()
	g.mu.RLock()
	var assigned []int32
	for n, p := range g.partitions {
		if p.role == RoleActive {
			assigned = append(assigned, n)
		}
	}
	g.mu.RUnlock()
	sort.Slice(assigned, func(i, j int) bool { return assigned[i] < assigned[j] })
	if slices.Equal(assigned, g.reported) {
		return
	}
	g.reported = assigned
	g.cfg.Metrics.Rebalanced()
	if err := g.cfg.Rebalanced(assigned); err != nil {
		g.fail(err)
	}
}
