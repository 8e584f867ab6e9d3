package goka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/internal/metrics"
)

// groupHandler is the sarama ConsumerGroupHandler of a processor: it turns
// every consumer group session into partition processors. It is kept apart
// from Processor so the public type is not at once the API and the handler.
type groupHandler struct {
	p *Processor
}

// Setup checks that the session's claims are co-partitioned, moves those
// whose committed offset fell out of their topic to its oldest offset
// (resumeInRange), starts one active partition processor per assigned
// partition (restoring its tables) and, with hot standby, a passive one for
// every other table partition.
func (h *groupHandler) Setup(session sarama.ConsumerGroupSession) error {
	p := h.p
	p.state.SetState(ProcStateSetup)
	p.metrics.Rebalanced()
	assigned, err := copartitionedClaims(session.Claims())
	if err != nil {
		err = fmt.Errorf("processor %q: %w", p.graph.Group(), err)
		p.metrics.Error(metrics.ErrSetup)
		p.fail(err)
		return err
	}
	if err := p.resumeInRange(session); err != nil {
		err = fmt.Errorf("processor %q: %w", p.graph.Group(), err)
		p.metrics.Error(metrics.ErrSetup)
		p.fail(err)
		return err
	}
	if err := p.callRebalanceCallback(assigned); err != nil {
		p.metrics.Error(metrics.ErrSetup)
		p.fail(err)
		return err
	}
	if len(assigned) == 0 {
		p.log.Printf("this session assigns no partition to this instance")
	}

	pps := make(map[int32]*PartitionProcessor)
	for _, partition := range assigned {
		mark := func(topic string, offset int64) { session.MarkOffset(topic, partition, offset, "") }
		pps[partition] = newPartitionProcessor(p, partition, runModeActive, mark)
	}
	if p.opts.hotStandby && p.graph.GroupTable() != nil {
		for partition := int32(0); partition < p.numPartitions; partition++ {
			if _, ok := pps[partition]; !ok {
				pps[partition] = newPartitionProcessor(p, partition, runModePassive, nil)
			}
		}
	}
	p.mu.Lock()
	p.partitions = pps
	p.mu.Unlock()

	errs := make(chan error, len(pps))
	var wg sync.WaitGroup
	for _, pp := range pps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pp.Start(session.Context(), session.Context())
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		if err != nil {
			all = append(all, err)
		}
	}
	if err := errors.Join(all...); err != nil {
		p.metrics.Error(metrics.ErrSetup)
		p.fail(err)
		p.state.SetState(ProcStateRunning)
		return err
	}
	p.state.SetState(ProcStateRunning)
	return nil
}

// ConsumeClaim forwards the messages of one topic-partition to its partition
// processor, which serialises them with the partition's other topics.
func (h *groupHandler) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	h.p.mu.RLock()
	pp, ok := h.p.partitions[claim.Partition()]
	h.p.mu.RUnlock()
	if !ok || pp.mode != runModeActive {
		return fmt.Errorf("processor %q: no partition processor for claimed partition %s/%d", h.p.graph.Group(), claim.Topic(), claim.Partition())
	}
	pp.setClaim(claim)
	done := pp.runCtx.Done()
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			select {
			case pp.input <- msg:
				continue
			default:
			}
			select {
			case pp.input <- msg:
			case <-done:
				return nil
			case <-pp.failed:
				return nil
			}
		case <-done:
			return nil
		case <-pp.failed:
			return nil
		}
	}
}

// Cleanup stops every partition processor of the session and commits the
// offsets they marked.
func (h *groupHandler) Cleanup(session sarama.ConsumerGroupSession) error {
	p := h.p
	p.state.SetState(ProcStateStopping)
	p.mu.Lock()
	pps := p.partitions
	p.partitions = make(map[int32]*PartitionProcessor)
	p.mu.Unlock()

	errs := make([]error, 0, len(pps))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, pp := range pps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pp.Stop(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	session.Commit()
	p.state.SetState(ProcStateStopped)
	return errors.Join(errs...)
}

// copartitionedClaims returns the partitions of a session's claims, which
// must be the same for every topic: a partition processor serves all topics
// of its partition.
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
			return nil, fmt.Errorf("session claims are not copartitioned: topic %s has partitions %v, topic %s has %v", firstName, first, topic, parts)
		}
	}
	return first, nil
}

// recoverAhead restores every partition of the group table once before the
// group is joined, then closes them: a persistent store then has little left
// to restore when partitions are assigned.
func (p *Processor) recoverAhead(ctx context.Context) error {
	if p.graph.GroupTable() == nil && len(p.graph.JointTables()) == 0 {
		return nil
	}
	errs := make([]error, p.numPartitions)
	var wg sync.WaitGroup
	for partition := int32(0); partition < p.numPartitions; partition++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pp := newPartitionProcessor(p, partition, runModeRecoverOnly, nil)
			errs[partition] = errors.Join(pp.Start(ctx, ctx), pp.Stop())
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// callRebalanceCallback tells the user's rebalance callback the session's
// partitions; a panic in it stops the processor with an error instead of
// ending the process.
func (p *Processor) callRebalanceCallback(assigned []int32) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("processor %q: %w", p.graph.Group(), panicError("rebalance callback", r))
		}
	}()
	p.opts.rebalanceCallback(newAssignment(assigned))
	return nil
}
