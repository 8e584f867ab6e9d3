package health

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/seed-b2c684ed/goka"
)

// Processor is what the check of a processor reads. *goka.Processor is one.
// So can be a supervisor that restarts a failed processor: if its Done stays
// open and its Error nil while it heals, the check reports it live, and if
// Recovered and StatsWithContext follow the processor it runs at the time,
// ready exactly when that one is.
//
// When it also has a StateReader() goka.StateReader method, as
// *goka.Processor does, the answer of a processor that is not ready names
// its state.
type Processor interface {
	Graph() *goka.GroupGraph
	// Done is closed when Run has returned; Error returns what it returned.
	Done() <-chan struct{}
	Error() error
	// Recovered reports whether every assigned partition is restored and
	// running.
	Recovered() bool
	StatsWithContext(ctx context.Context) *goka.ProcessorStats
}

// activeMode is goka's run mode of a partition that processes its input (as
// opposed to a hot standby's or a warm-up's). goka does not export its run
// modes; this is the first, 0, in goka and here.
const activeMode goka.PPRunMode = 0

// ProcessorCheck returns the check of p:
//
//   - live unless Run returned an error: before Run, while it runs, and
//     after a cancel (the program is shutting down: a restart would not
//     help);
//   - ready while Run runs with every assigned partition recovered and
//     running (the processor's state is Running: no rebalance is under way),
//     and none of them behind an input, a joined table or a lookup table by
//     more than the limits (WithMaxLag, WithMaxDelay).
//
// Partitions kept as hot standby are not assigned, and their lag does not
// count. Their restore does, at the start of a session: the processor's
// state becomes Running only once they are restored too (the assigned
// partitions process meanwhile), so an instance with hot standby is ready
// once it could take over any partition at once.
func ProcessorCheck(p Processor, opts ...CheckOption) Checker { return newProcessorCheck(p, opts) }

func newProcessorCheck(p Processor, opts []CheckOption) *processorCheck {
	c := &processorCheck{p: p, cfg: newCheckConfig("processor "+string(p.Graph().Group()), opts)}
	if e := p.Graph().GroupTable(); e != nil {
		c.table = e.Topic()
	}
	return c
}

type processorCheck struct {
	p     Processor
	cfg   checkConfig
	table string // the group table's topic; empty when stateless
}

func (c *processorCheck) Live(context.Context) error {
	select {
	case <-c.p.Done():
		if err := c.p.Error(); err != nil {
			return stopped(err)
		}
	default:
	}
	return nil
}

func (c *processorCheck) Ready(ctx context.Context) error {
	select {
	case <-c.p.Done():
		return stopped(c.p.Error())
	default:
	}
	var problems []error
	recovered := c.p.Recovered()
	if !recovered {
		state := "not running yet"
		if sr, ok := c.p.(interface{ StateReader() goka.StateReader }); ok {
			state = processorStateName(sr.StateReader().State())
		}
		problems = append(problems, fmt.Errorf("%w: %s", ErrNotRecovered, state))
	}
	stats := c.p.StatsWithContext(ctx)
	if stats == nil {
		return errors.Join(problems...)
	}
	for _, partition := range sortedKeys(stats.Group) {
		problems = append(problems, c.partition(partition, stats.Group[partition], recovered)...)
	}
	for _, topic := range sortedKeys(stats.Lookup) {
		if vs := stats.Lookup[topic]; vs != nil {
			for _, partition := range sortedKeys(vs.Partitions) {
				problems = appendErr(problems, c.cfg.table("lookup table", topic, partition, vs.Partitions[partition]))
			}
		}
	}
	return errors.Join(problems...)
}

// partition returns why one partition of the group is not caught up.
// recovered is the processor's Recovered.
func (c *processorCheck) partition(partition int32, ps *goka.PartitionProcStats, recovered bool) []error {
	if ps == nil {
		return nil
	}
	if ts := ps.TableStats; ts != nil && ts.RunMode != activeMode {
		// A partition this instance only follows (hot standby) is not
		// assigned, and its lag is no one's concern. But the processor's
		// state waits for its restore too, at the start of every session
		// (the assigned partitions process meanwhile): while it does, say
		// what it waits for.
		if !recovered && ts.Status != goka.PartitionRunning {
			return []error{c.cfg.notRecovered("hot standby table", c.table, partition, ts)}
		}
		return nil
	}
	var problems []error
	if ts := ps.TableStats; ts != nil && ts.Status != goka.PartitionRunning {
		// Only the state: the group table of an active partition is written
		// by the partition itself, so its consumer lag means nothing.
		problems = append(problems, c.cfg.notRecovered("table", c.table, partition, ts))
	}
	for _, topic := range sortedKeys(ps.Joined) {
		problems = appendErr(problems, c.cfg.table("joined table", topic, partition, ps.Joined[topic]))
	}
	for _, topic := range sortedKeys(ps.Input) {
		if in := ps.Input[topic]; in != nil {
			problems = appendErr(problems, c.cfg.lagging("input", topic, partition, in.OffsetLag, in.Delay))
		}
	}
	return problems
}

// table returns why a table partition is not caught up: not running yet
// (restoring, connecting), or behind its topic.
func (c checkConfig) table(kind, topic string, partition int32, ts *goka.TableStats) error {
	if ts == nil {
		return nil
	}
	if ts.Status != goka.PartitionRunning {
		return c.notRecovered(kind, topic, partition, ts)
	}
	if ts.Input == nil {
		return nil
	}
	return c.lagging(kind, topic, partition, ts.Input.OffsetLag, 0)
}

// notRecovered says what a table partition that is not running does.
func (c checkConfig) notRecovered(kind, topic string, partition int32, ts *goka.TableStats) error {
	msg := fmt.Sprintf("partition %d: %s %s is %s", partition, kind, topic, partitionStatusName(ts.Status))
	if ts.Status == goka.PartitionRecovering && ts.Input != nil {
		msg += fmt.Sprintf(", %s to restore", messages(ts.Input.OffsetLag))
	}
	return fmt.Errorf("%w: %s", ErrNotRecovered, msg)
}

// messages says n messages in words.
func messages(n int64) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}

func appendErr(errs []error, err error) []error {
	if err == nil {
		return errs
	}
	return append(errs, err)
}

// sortedKeys returns the keys of m in order, so that answers list the
// partitions and topics the same way every time.
func sortedKeys[K int32 | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
