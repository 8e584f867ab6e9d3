package goka

import "github.com/seed-b2c684ed/goka/internal/engine"

// compiledGraph is a GroupGraph prepared for running, as database/sql
// prepares a statement: built once by NewProcessor, validated on the way,
// and never changed afterwards. It answers per topic what a Context needs
// (codecs, the lookup views) and holds the engine's plan, whose routes
// carry the decoding and the callback of each input, so that nothing
// searches the graph per message.
type compiledGraph struct {
	group Group

	table      string // "" when stateless
	tableCodec Codec
	loop       string // "" without a loop
	loopCodec  Codec
	joins      map[string]Codec
	outputs    map[string]Codec
	// lookups are the views of the looked-up tables, set by NewProcessor
	// once it built them.
	lookups map[string]*View

	defaultHeaders Headers

	plan *engine.Plan
}

// compileGraph validates gg and compiles it with the processor's options.
func compileGraph(gg *GroupGraph, opts *poptions) (*compiledGraph, error) {
	if err := gg.Validate(); err != nil {
		return nil, err
	}
	g := &compiledGraph{
		group:          gg.Group(),
		joins:          make(map[string]Codec, len(gg.joins)),
		outputs:        make(map[string]Codec, len(gg.outputs)),
		lookups:        make(map[string]*View, len(gg.lookups)),
		defaultHeaders: opts.defaultHeaders,
	}
	plan := &engine.Plan{
		Group:      string(gg.Group()),
		Routes:     make(map[string]engine.Route, len(gg.inputs)+len(gg.loops)),
		Visitors:   make(map[string]engine.Handler, len(gg.visitors)),
		Subscribed: gg.streamTopics(),
		Env:        g,
	}
	policies, err := opts.routePolicies(gg)
	if err != nil {
		return nil, err
	}
	wrap := opts.contextWrapper
	deadLetters := make(map[string]bool)
	route := func(e *topicEdge) engine.Route {
		codec, cb := e.codec, e.cb
		policy := policies[e.topic].compile(gg.Group())
		if t := policy.DeadLetterTopic; t != "" && !deadLetters[t] {
			deadLetters[t] = true
			plan.DeadLetters = append(plan.DeadLetters, t)
		}
		return engine.Route{
			Decode: func(data []byte) (any, error) { return safeDecode(codec, data) },
			Handle: func(m *engine.Message, value any) { cb(wrap((*messageContext)(m)), value) },
			Policy: policy,
		}
	}
	for _, e := range gg.inputs {
		plan.Routes[e.topic] = route(e)
		plan.Inputs = append(plan.Inputs, e.topic)
	}
	if len(gg.loops) > 0 {
		e := gg.loops[0]
		g.loop, g.loopCodec = e.topic, e.codec
		plan.Loop = e.topic
		plan.Routes[e.topic] = route(e)
	}
	if len(gg.tables) > 0 {
		e := gg.tables[0]
		g.table, g.tableCodec = e.topic, e.codec
		plan.Table = e.topic
	}
	for _, e := range gg.joins {
		g.joins[e.topic] = e.codec
		plan.Joins = append(plan.Joins, e.topic)
	}
	for _, e := range gg.outputs {
		g.outputs[e.topic] = e.codec
		plan.Outputs = append(plan.Outputs, e.topic)
	}
	for _, v := range gg.visitors {
		cb := v.cb
		plan.Visitors[v.name] = func(m *engine.Message, meta any) { cb(wrap((*messageContext)(m)), meta) }
	}
	g.plan = plan
	return g, nil
}
