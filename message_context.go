package goka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed-b2c684ed/goka/internal/engine"
)

// messageContext is the Context of one callback call: the engine's message
// (see internal/engine), which counts what the message waits for and holds
// its writes, seen through the API. It is a conversion, not a wrapper, so a
// message costs one allocation; what it needs of the graph (codecs, lookup
// views) is the processor's compiled graph, which the message carries.
type messageContext engine.Message

var _ Context = (*messageContext)(nil)

func (c *messageContext) msg() *engine.Message { return (*engine.Message)(c) }
func (c *messageContext) graph() *compiledGraph {
	return c.msg().Env().(*compiledGraph)
}

func (c *messageContext) Topic() Stream            { return Stream(c.msg().Topic()) }
func (c *messageContext) Key() string              { return c.msg().Key() }
func (c *messageContext) Partition() int32         { return c.msg().Partition() }
func (c *messageContext) Offset() int64            { return c.msg().Offset() }
func (c *messageContext) Group() Group             { return c.graph().group }
func (c *messageContext) Timestamp() time.Time     { return c.msg().Timestamp() }
func (c *messageContext) Context() context.Context { return c.msg().Context() }
func (c *messageContext) Headers() Headers         { return c.msg().Headers() }
func (c *messageContext) Fail(err error)           { c.msg().Fail(err) }
func (c *messageContext) DeferCommit() func(error) { return c.msg().DeferCommit() }

func (c *messageContext) Value() interface{} {
	g := c.graph()
	if g.table == "" {
		c.Fail(errors.New("cannot access the group table: the processor is stateless (no Persist edge)"))
	}
	data, err := c.msg().TableGet()
	if err != nil {
		c.Fail(err)
	}
	if data == nil {
		return nil
	}
	value, err := g.tableCodec.Decode(data)
	if err != nil {
		c.Fail(fmt.Errorf("decoding key %q of table %s: %w", c.Key(), g.table, err))
	}
	return value
}

func (c *messageContext) SetValue(value interface{}, options ...ContextOption) {
	g := c.graph()
	if g.table == "" {
		c.Fail(errors.New("cannot set a value: the processor is stateless (no Persist edge)"))
	}
	if value == nil {
		c.Fail(fmt.Errorf("cannot set nil as value of key %q: use Delete", c.Key()))
	}
	data, err := g.tableCodec.Encode(value)
	if err != nil {
		c.Fail(fmt.Errorf("encoding value of key %q for table %s: %w", c.Key(), g.table, err))
	}
	// A codec that encodes to nil makes this a deletion, as the record
	// sent is then a tombstone. Table writes carry only the call's
	// headers, as in goka.
	c.msg().WriteTable(data, collectOptions(options).emitHeaders)
}

func (c *messageContext) Delete(options ...ContextOption) {
	if c.graph().table == "" {
		c.Fail(errors.New("cannot delete a value: the processor is stateless (no Persist edge)"))
	}
	c.msg().WriteTable(nil, collectOptions(options).emitHeaders)
}

func (c *messageContext) Join(topic Table) interface{} {
	g := c.graph()
	codec, ok := g.joins[string(topic)]
	if !ok {
		c.Fail(fmt.Errorf("table %q is not joined by group %q: add a Join edge", topic, g.group))
	}
	data, _, err := c.msg().JoinGet(string(topic))
	if err != nil {
		c.Fail(err)
	}
	if data == nil {
		return nil
	}
	value, err := codec.Decode(data)
	if err != nil {
		c.Fail(fmt.Errorf("decoding key %q of joined table %s: %w", c.Key(), topic, err))
	}
	return value
}

func (c *messageContext) Lookup(topic Table, key string) interface{} {
	g := c.graph()
	v, ok := g.lookups[string(topic)]
	if !ok {
		c.Fail(fmt.Errorf("table %q is not looked up by group %q: add a Lookup edge", topic, g.group))
	}
	value, err := v.Get(key)
	if err != nil {
		c.Fail(fmt.Errorf("looking up key %q in table %s: %w", key, topic, err))
	}
	return value
}

func (c *messageContext) Emit(topic Stream, key string, value interface{}, options ...ContextOption) {
	g := c.graph()
	switch {
	case topic == "":
		c.Fail(errors.New("cannot emit to an empty topic"))
	case g.loop != "" && string(topic) == g.loop:
		c.Fail(fmt.Errorf("cannot emit to the loop topic %q: use Loopback", topic))
	case g.table != "" && string(topic) == g.table:
		c.Fail(fmt.Errorf("cannot emit to the group table %q: use SetValue", topic))
	}
	codec, ok := g.outputs[string(topic)]
	if !ok {
		c.Fail(fmt.Errorf("topic %q is not an output of group %q: add an Output edge", topic, g.group))
	}
	var data []byte
	if value != nil {
		var err error
		if data, err = codec.Encode(value); err != nil {
			c.Fail(fmt.Errorf("encoding message with key %q for topic %s: %w", key, topic, err))
		}
	}
	c.send(string(topic), key, data, options)
}

func (c *messageContext) Loopback(key string, value interface{}, options ...ContextOption) {
	g := c.graph()
	if g.loop == "" {
		c.Fail(fmt.Errorf("group %q has no loop: add a Loop edge to use Loopback", g.group))
	}
	data, err := g.loopCodec.Encode(value)
	if err != nil {
		c.Fail(fmt.Errorf("encoding loopback message with key %q: %w", key, err))
	}
	c.send(g.loop, key, data, options)
}

// send hands an emit or loopback, with the processor's default headers, to
// the engine, which holds it until the callback returns.
func (c *messageContext) send(topic, key string, data []byte, options []ContextOption) {
	headers := c.graph().defaultHeaders.Merged(collectOptions(options).emitHeaders)
	c.msg().Send(topic, key, data, headers)
}

func collectOptions(options []ContextOption) ctxOptions {
	var opts ctxOptions
	for _, opt := range options {
		opt(&opts)
	}
	return opts
}
