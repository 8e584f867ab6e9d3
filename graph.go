package goka

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Stream is the name of an event topic: a log of messages with a retention
// time (cleanup.policy=delete).
type Stream string

// Streams is a list of stream names.
type Streams []Stream

// Table is the name of a log-compacted topic that holds the latest value of
// every key (cleanup.policy=compact).
type Table string

// Group names a processor group. It is the Kafka consumer group of the
// processors and the prefix of the group's table and loop topics.
type Group string

const (
	defaultTableSuffix = "-table"
	defaultLoopSuffix  = "-loop"
)

// suffixes holds the global table and loop suffixes. goka keeps them in plain
// variables; a mutex makes concurrent reads while a test changes them safe.
var suffixes = struct {
	sync.RWMutex
	table, loop string
}{table: defaultTableSuffix, loop: defaultLoopSuffix}

// SetTableSuffix changes the suffix that names group tables, "-table" by
// default. Graphs defined afterwards use the new suffix; graphs defined before
// keep the topic names they were created with.
func SetTableSuffix(suffix string) {
	suffixes.Lock()
	defer suffixes.Unlock()
	suffixes.table = suffix
}

// SetLoopSuffix changes the suffix that names loop topics, "-loop" by default,
// with the same rules as SetTableSuffix.
func SetLoopSuffix(suffix string) {
	suffixes.Lock()
	defer suffixes.Unlock()
	suffixes.loop = suffix
}

// ResetSuffixes restores the default "-table" and "-loop" suffixes.
func ResetSuffixes() {
	suffixes.Lock()
	defer suffixes.Unlock()
	suffixes.table = defaultTableSuffix
	suffixes.loop = defaultLoopSuffix
}

// GroupTable returns the name of the table a group persists its state in:
// the group name followed by the table suffix ("<group>-table").
func GroupTable(group Group) Table {
	suffixes.RLock()
	defer suffixes.RUnlock()
	return Table(string(group) + suffixes.table)
}

// loopName returns the loop topic of a group ("<group>-loop").
func loopName(group Group) Stream {
	suffixes.RLock()
	defer suffixes.RUnlock()
	return Stream(string(group) + suffixes.loop)
}

// StringsToStreams converts topic names to Streams.
func StringsToStreams(strings ...string) Streams {
	streams := make(Streams, len(strings))
	for i, s := range strings {
		streams[i] = Stream(s)
	}
	return streams
}

// ProcessCallback is the function a processor calls for every message of an
// input or loop topic, and for every key a visitor visits. The Context is
// valid only until the callback returns.
type ProcessCallback func(ctx Context, msg interface{})

// Edge is one connection of a group to a topic: an input, a table it joins or
// looks up, an output, its loop, its own table, or a visitor.
type Edge interface {
	String() string
	Topic() string
	Codec() Codec
}

// Edges is a list of edges.
type Edges []Edge

// Topics returns the topic of every edge, in order.
func (e Edges) Topics() []string {
	topics := make([]string, 0, len(e))
	for _, edge := range e {
		topics = append(topics, edge.Topic())
	}
	return topics
}

// edgeKind tells the graph how to treat an edge. The order is the order in
// which AllEdges lists them.
type edgeKind int

const (
	kindJoin edgeKind = iota
	kindLookup
	kindInput
	kindOutput
	kindLoop
	kindTable
	kindVisitor
)

var kindNames = [...]string{
	kindJoin:    "join",
	kindLookup:  "lookup",
	kindInput:   "input",
	kindOutput:  "output",
	kindLoop:    "loop",
	kindTable:   "group table",
	kindVisitor: "visitor",
}

func (k edgeKind) String() string { return kindNames[k] }

// topicEdge is every edge that names one topic.
type topicEdge struct {
	kind  edgeKind
	topic string
	codec Codec
	cb    ProcessCallback
}

func (e *topicEdge) String() string { return fmt.Sprintf("%s/%T", e.topic, e.codec) }

// Topic returns the edge's topic.
func (e *topicEdge) Topic() string { return e.topic }

// Codec returns the codec the edge reads or writes the topic with.
func (e *topicEdge) Codec() Codec { return e.codec }

// inputsEdge is an Inputs edge: several streams sharing one codec and callback.
type inputsEdge struct {
	topics []*topicEdge
}

func (e *inputsEdge) String() string {
	parts := make([]string, len(e.topics))
	for i, t := range e.topics {
		parts[i] = t.String()
	}
	return strings.Join(parts, ",")
}

// Topic returns the streams joined by commas, as goka does.
func (e *inputsEdge) Topic() string {
	names := make([]string, len(e.topics))
	for i, t := range e.topics {
		names[i] = t.topic
	}
	return strings.Join(names, ",")
}

// Codec returns the codec shared by all the streams.
func (e *inputsEdge) Codec() Codec { return e.topics[0].codec }

// visitorEdge names a callback that Processor.VisitAll runs over every key.
type visitorEdge struct {
	name string
	cb   ProcessCallback
}

func (e *visitorEdge) String() string { return e.name }

// Topic returns the visitor's name; a visitor has no topic.
func (e *visitorEdge) Topic() string { return e.name }

// Codec returns nil: visitors read the group table with its codec.
func (e *visitorEdge) Codec() Codec { return nil }

// Input declares a stream the group consumes through its Kafka consumer group.
// The stream must be co-partitioned with the other inputs, the joined tables
// and the group table. cb is called for every message.
func Input(topic Stream, c Codec, cb ProcessCallback) Edge {
	return &topicEdge{kind: kindInput, topic: string(topic), codec: c, cb: cb}
}

// Inputs declares several input streams that share a codec and a callback.
// It returns nil for an empty list, and DefineGroup ignores nil edges.
func Inputs(topics Streams, c Codec, cb ProcessCallback) Edge {
	if len(topics) == 0 {
		return nil
	}
	e := &inputsEdge{topics: make([]*topicEdge, len(topics))}
	for i, t := range topics {
		e.topics[i] = &topicEdge{kind: kindInput, topic: string(t), codec: c, cb: cb}
	}
	return e
}

// Join declares a table co-partitioned with the inputs. Each partition of the
// processor reads the same partition of the table, which is restored before
// the first input message is processed; Context.Join reads it.
func Join(topic Table, c Codec) Edge {
	return &topicEdge{kind: kindJoin, topic: string(topic), codec: c}
}

// Lookup declares a table read in full by a view shared by all partitions of
// the processor, so it needs no co-partitioning; Context.Lookup reads it. The
// processor joins its consumer group only once the view has recovered.
func Lookup(topic Table, c Codec) Edge {
	return &topicEdge{kind: kindLookup, topic: string(topic), codec: c}
}

// Persist declares the group table, "<group>-table", that Context.Value,
// SetValue and Delete read and write. DefineGroup fills in the topic name.
func Persist(c Codec) Edge {
	return &topicEdge{kind: kindTable, codec: c}
}

// Loop declares the group's loopback stream, "<group>-loop": Context.Loopback
// sends to it and cb receives its messages, in the partition of their key.
// DefineGroup fills in the topic name.
func Loop(c Codec, cb ProcessCallback) Edge {
	return &topicEdge{kind: kindLoop, codec: c, cb: cb}
}

// Output declares a stream that Context.Emit may write to.
func Output(topic Stream, c Codec) Edge {
	return &topicEdge{kind: kindOutput, topic: string(topic), codec: c}
}

// Visitor declares a named callback that Processor.VisitAll calls for every
// key of the group table, in the partition's goroutine, interleaved with the
// input messages.
func Visitor(name string, cb ProcessCallback) Edge {
	return &visitorEdge{name: name, cb: cb}
}

// GroupGraph describes a processor group: the topics it reads and writes and
// the callbacks it runs. Build it with DefineGroup and check it with Validate.
type GroupGraph struct {
	group Group

	inputs   []*topicEdge
	joins    []*topicEdge
	lookups  []*topicEdge
	outputs  []*topicEdge
	loops    []*topicEdge
	tables   []*topicEdge
	visitors []*visitorEdge

	// raw keeps the edges as the caller gave them (Inputs stays one edge), in
	// AllEdges order, so a graph can be cloned and modified.
	raw map[edgeKind]Edges
}

// DefineGroup builds the graph of a group from its edges. Nil edges are
// ignored. Unlike goka, it never panics: every problem of the definition,
// including an empty or repeated input topic, is reported by Validate, which
// NewProcessor calls first.
func DefineGroup(group Group, edges ...Edge) *GroupGraph {
	gg := &GroupGraph{group: group, raw: make(map[edgeKind]Edges)}
	table := string(GroupTable(group))
	loop := string(loopName(group))
	for _, e := range edges {
		switch e := e.(type) {
		case nil:
		case *inputsEdge:
			gg.inputs = append(gg.inputs, e.topics...)
			gg.raw[kindInput] = append(gg.raw[kindInput], e)
		case *visitorEdge:
			gg.visitors = append(gg.visitors, e)
			gg.raw[kindVisitor] = append(gg.raw[kindVisitor], e)
		case *topicEdge:
			gg.add(e, table, loop)
		default:
			// A user-made Edge implementation: keep it visible in AllEdges and
			// let Validate reject it, since nothing knows how to run it.
			gg.raw[kindOutput] = append(gg.raw[kindOutput], e)
		}
	}
	return gg
}

func (gg *GroupGraph) add(e *topicEdge, table, loop string) {
	switch e.kind {
	case kindInput:
		gg.inputs = append(gg.inputs, e)
	case kindJoin:
		gg.joins = append(gg.joins, e)
	case kindLookup:
		gg.lookups = append(gg.lookups, e)
	case kindOutput:
		gg.outputs = append(gg.outputs, e)
	case kindLoop:
		// Copy, so one Loop edge value can be shared by several groups.
		e = &topicEdge{kind: kindLoop, topic: loop, codec: e.codec, cb: e.cb}
		gg.loops = append(gg.loops, e)
	case kindTable:
		e = &topicEdge{kind: kindTable, topic: table, codec: e.codec}
		gg.tables = append(gg.tables, e)
	}
	gg.raw[e.kind] = append(gg.raw[e.kind], e)
}

// Group returns the group name.
func (gg *GroupGraph) Group() Group { return gg.group }

// InputStreams returns the input edges, one per stream.
func (gg *GroupGraph) InputStreams() Edges { return toEdges(gg.inputs) }

// JointTables returns the joined tables (goka's spelling).
func (gg *GroupGraph) JointTables() Edges { return toEdges(gg.joins) }

// LookupTables returns the looked-up tables.
func (gg *GroupGraph) LookupTables() Edges { return toEdges(gg.lookups) }

// OutputStreams returns the output streams.
func (gg *GroupGraph) OutputStreams() Edges { return toEdges(gg.outputs) }

// LoopStream returns the loop edge, or nil when the group has none.
func (gg *GroupGraph) LoopStream() Edge {
	if len(gg.loops) == 0 {
		return nil
	}
	return gg.loops[0]
}

// GroupTable returns the group table edge, or nil for a stateless group.
func (gg *GroupGraph) GroupTable() Edge {
	if len(gg.tables) == 0 {
		return nil
	}
	return gg.tables[0]
}

// AllEdges returns every edge in the order joins, lookups, inputs, outputs,
// loop, table, visitors. DefineGroup(gg.Group(), gg.AllEdges()...) rebuilds an
// equal graph, which is how a graph is cloned and extended.
func (gg *GroupGraph) AllEdges() Edges {
	var all Edges
	for k := kindJoin; k <= kindVisitor; k++ {
		all = append(all, gg.raw[k]...)
	}
	return all
}

func toEdges(list []*topicEdge) Edges {
	edges := make(Edges, len(list))
	for i, e := range list {
		edges[i] = e
	}
	return edges
}

// ErrInvalidGraph is wrapped by every error Validate returns, so callers can
// tell a wrong definition from a failure to reach Kafka.
var ErrInvalidGraph = errors.New("invalid group graph")

// Validate checks the graph and returns every problem it finds, joined, each
// naming the group and the edge at fault. It rejects what goka rejects (no
// input, several loops or tables, direct use of the group's loop or table
// topic, visitors without a table) and what goka lets through but cannot work:
// empty names, missing codecs or callbacks, a topic consumed twice, a table
// both joined and looked up, and one topic declared with two codecs.
func (gg *GroupGraph) Validate() error {
	var errs []error
	fail := func(format string, args ...interface{}) {
		msg := fmt.Sprintf(format, args...)
		errs = append(errs, fmt.Errorf("group %q: %s: %w", gg.group, msg, ErrInvalidGraph))
	}

	if gg.group == "" {
		fail("the group name is empty")
	}
	if len(gg.inputs) == 0 {
		fail("no input stream: define at least one Input or Inputs edge")
	}
	if len(gg.loops) > 1 {
		fail("%d Loop edges: a group has at most one", len(gg.loops))
	}
	if len(gg.tables) > 1 {
		fail("%d Persist edges: a group has at most one", len(gg.tables))
	}
	if len(gg.visitors) > 0 && len(gg.tables) == 0 {
		fail("visitors cannot be used in a stateless processor: add a Persist edge")
	}
	for _, e := range gg.raw[kindOutput] {
		if _, ok := e.(*topicEdge); !ok {
			fail("edge %s of type %T is not one of the library's edges", e.String(), e)
		}
	}

	table := string(GroupTable(gg.group))
	loop := string(loopName(gg.group))
	if len(gg.tables) > 0 {
		table = gg.tables[0].topic
	}
	if len(gg.loops) > 0 {
		loop = gg.loops[0].topic
	}

	seen := make(map[edgeKind]map[string]bool)
	codecs := make(map[string]*topicEdge)
	check := func(e *topicEdge) {
		if e.kind != kindLoop && e.kind != kindTable {
			switch {
			case e.topic == "":
				fail("%s edge with an empty topic name", e.kind)
			case e.topic == loop:
				fail("%s edge %q should not directly use the loop stream: use Loop and Context.Loopback", e.kind, e.topic)
			case e.topic == table:
				fail("%s edge %q should not directly use the group table: use Persist and Context.Value/SetValue", e.kind, e.topic)
			}
		}
		if e.codec == nil {
			fail("%s edge %q has a nil codec", e.kind, e.topic)
		}
		if (e.kind == kindInput || e.kind == kindLoop) && e.cb == nil {
			fail("%s edge %q has a nil callback", e.kind, e.topic)
		}
		if seen[e.kind] == nil {
			seen[e.kind] = make(map[string]bool)
		}
		if seen[e.kind][e.topic] && e.topic != "" {
			fail("topic %q is declared as %s twice", e.topic, e.kind)
		}
		seen[e.kind][e.topic] = true
		if prev, ok := codecs[e.topic]; ok && e.codec != nil && prev.codec != nil &&
			fmt.Sprintf("%T", prev.codec) != fmt.Sprintf("%T", e.codec) {
			fail("topic %q is used with codec %T (%s) and codec %T (%s)", e.topic, prev.codec, prev.kind, e.codec, e.kind)
		} else if !ok && e.codec != nil {
			codecs[e.topic] = e
		}
	}
	for _, list := range [][]*topicEdge{gg.inputs, gg.joins, gg.lookups, gg.outputs, gg.loops, gg.tables} {
		for _, e := range list {
			check(e)
		}
	}
	for topic := range seen[kindJoin] {
		if seen[kindLookup][topic] {
			fail("table %q is both joined and looked up: a partition cannot read it both ways, keep one", topic)
		}
	}

	visitors := make(map[string]bool)
	for _, v := range gg.visitors {
		switch {
		case v.name == "":
			fail("visitor with an empty name")
		case visitors[v.name]:
			fail("visitor %q is declared twice", v.name)
		}
		if v.cb == nil {
			fail("visitor %q has a nil callback", v.name)
		}
		visitors[v.name] = true
	}
	return errors.Join(errs...)
}

// streamTopics returns the topics the consumer group subscribes to: the input
// streams and the loop, sorted.
func (gg *GroupGraph) streamTopics() []string {
	var topics []string
	for _, e := range gg.inputs {
		topics = append(topics, e.topic)
	}
	for _, e := range gg.loops {
		topics = append(topics, e.topic)
	}
	sort.Strings(topics)
	return topics
}
