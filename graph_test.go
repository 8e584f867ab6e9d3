package goka

import (
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two codec types of our own, so the graph tests need no other package and can
// tell codecs apart by type.
type strCodec struct{}

func (strCodec) Encode(v interface{}) ([]byte, error) { return []byte(v.(string)), nil }
func (strCodec) Decode(b []byte) (interface{}, error) { return string(b), nil }

type intCodec struct{}

func (intCodec) Encode(v interface{}) ([]byte, error) {
	return []byte(strconv.FormatInt(v.(int64), 10)), nil
}
func (intCodec) Decode(b []byte) (interface{}, error) { return strconv.ParseInt(string(b), 10, 64) }

func noop(Context, interface{}) {}

func TestNaming(t *testing.T) {
	t.Cleanup(ResetSuffixes)
	assert.Equal(t, Table("g-table"), GroupTable("g"))

	gg := DefineGroup("g", Input("in", strCodec{}, noop), Persist(intCodec{}), Loop(strCodec{}, noop))
	assert.Equal(t, "g-table", gg.GroupTable().Topic())
	assert.Equal(t, "g-loop", gg.LoopStream().Topic())

	SetTableSuffix("-state")
	SetLoopSuffix("-again")
	assert.Equal(t, Table("g-state"), GroupTable("g"))
	// A graph keeps the names it was defined with.
	assert.Equal(t, "g-table", gg.GroupTable().Topic())
	later := DefineGroup("g", Input("in", strCodec{}, noop), Persist(intCodec{}), Loop(strCodec{}, noop))
	assert.Equal(t, "g-state", later.GroupTable().Topic())
	assert.Equal(t, "g-again", later.LoopStream().Topic())
	require.NoError(t, later.Validate())

	ResetSuffixes()
	assert.Equal(t, Table("g-table"), GroupTable("g"))
	assert.Equal(t, Streams{"a", "b"}, StringsToStreams("a", "b"))
}

func TestEdges(t *testing.T) {
	in := Input("in", strCodec{}, noop)
	assert.Equal(t, "in", in.Topic())
	assert.Equal(t, "in/goka.strCodec", in.String())

	assert.Nil(t, Inputs(nil, strCodec{}, noop))
	multi := Inputs(Streams{"a", "b"}, strCodec{}, noop)
	assert.Equal(t, "a,b", multi.Topic())
	assert.IsType(t, strCodec{}, multi.Codec())

	v := Visitor("reset", noop)
	assert.Equal(t, "reset", v.Topic())
	assert.Nil(t, v.Codec())

	gg := DefineGroup("g",
		Output("out", strCodec{}),
		Persist(intCodec{}),
		multi,
		nil,
		Lookup("look", strCodec{}),
		Join("join", strCodec{}),
		Loop(strCodec{}, noop),
		v,
	)
	require.NoError(t, gg.Validate())
	assert.Equal(t, Group("g"), gg.Group())
	assert.Equal(t, []string{"a", "b"}, gg.InputStreams().Topics())
	assert.Equal(t, []string{"join"}, gg.JointTables().Topics())
	assert.Equal(t, []string{"look"}, gg.LookupTables().Topics())
	assert.Equal(t, []string{"out"}, gg.OutputStreams().Topics())
	assert.Equal(t, []string{"join", "look", "a,b", "out", "g-loop", "g-table", "reset"}, gg.AllEdges().Topics())
	assert.Equal(t, []string{"a", "b", "g-loop"}, gg.streamTopics())

	// AllEdges rebuilds an equal graph.
	clone := DefineGroup(gg.Group(), gg.AllEdges()...)
	require.NoError(t, clone.Validate())
	assert.Equal(t, gg.AllEdges().Topics(), clone.AllEdges().Topics())

	// The compiled graph answers per topic what the partitions ask.
	opts := new(poptions)
	require.NoError(t, opts.applyOptions(gg))
	compiled, err := compileGraph(gg, opts)
	require.NoError(t, err)
	assert.IsType(t, intCodec{}, compiled.tableCodec)
	assert.Equal(t, "g-table", compiled.plan.Table)
	assert.Equal(t, "g-loop", compiled.plan.Loop)
	assert.Equal(t, []string{"a", "b", "g-loop"}, compiled.plan.Subscribed)
	assert.Contains(t, compiled.plan.Routes, "g-loop")
	assert.Contains(t, compiled.plan.Routes, "a")
	assert.NotContains(t, compiled.plan.Routes, "out")
	assert.Contains(t, compiled.joins, "join")
	assert.Contains(t, compiled.outputs, "out")
	assert.NotNil(t, compiled.plan.Visitors["reset"])
	assert.Nil(t, compiled.plan.Visitors["other"])
}

// TestCompileGraphValidates: compiling is validating; an invalid graph
// gives no plan.
func TestCompileGraphValidates(t *testing.T) {
	gg := DefineGroup("g", Input("in", strCodec{}, noop), Input("in", strCodec{}, noop))
	opts := new(poptions)
	require.NoError(t, opts.applyOptions(gg))
	_, err := compileGraph(gg, opts)
	require.ErrorIs(t, err, ErrInvalidGraph)
}

func TestStatelessGraphHasNoTableOrLoop(t *testing.T) {
	gg := DefineGroup("g", Input("in", strCodec{}, noop))
	require.NoError(t, gg.Validate())
	assert.Nil(t, gg.GroupTable())
	assert.Nil(t, gg.LoopStream())
}

// customEdge is an Edge the library does not know how to run.
type customEdge struct{}

func (customEdge) String() string { return "custom" }
func (customEdge) Topic() string  { return "custom" }
func (customEdge) Codec() Codec   { return nil }

func TestValidate(t *testing.T) {
	in := Input("in", strCodec{}, noop)
	tests := []struct {
		name  string
		group Group
		edges []Edge
		want  string // a part of the error message; empty means valid
	}{
		{"minimal", "g", []Edge{in}, ""},
		{"no input", "g", []Edge{Persist(intCodec{})}, "no input stream"},
		{"empty Inputs is no input", "g", []Edge{Inputs(nil, strCodec{}, noop)}, "no input stream"},
		{"empty group", "", []Edge{in}, "group name is empty"},
		{"two loops", "g", []Edge{in, Loop(strCodec{}, noop), Loop(strCodec{}, noop)}, "2 Loop edges"},
		{"two tables", "g", []Edge{in, Persist(intCodec{}), Persist(intCodec{})}, "2 Persist edges"},
		{"visitor without table", "g", []Edge{in, Visitor("v", noop)}, "visitors cannot be used in a stateless processor"},
		{"input is loop", "g", []Edge{Input("g-loop", strCodec{}, noop)}, "should not directly use the loop stream"},
		{"output is loop", "g", []Edge{in, Output("g-loop", strCodec{})}, "should not directly use the loop stream"},
		{"input is table", "g", []Edge{Input("g-table", strCodec{}, noop)}, "should not directly use the group table"},
		{"output is table", "g", []Edge{in, Persist(intCodec{}), Output("g-table", intCodec{})}, "should not directly use the group table"},
		{"output is table without Persist", "g", []Edge{in, Output("g-table", intCodec{})}, "should not directly use the group table"},
		{"join is table", "g", []Edge{in, Join("g-table", intCodec{})}, "should not directly use the group table"},
		{"lookup is table", "g", []Edge{in, Lookup("g-table", intCodec{})}, "should not directly use the group table"},
		{"empty input topic", "g", []Edge{Input("", strCodec{}, noop)}, "input edge with an empty topic name"},
		{"empty output topic", "g", []Edge{in, Output("", strCodec{})}, "output edge with an empty topic name"},
		{"input twice", "g", []Edge{in, Input("in", strCodec{}, noop)}, `topic "in" is declared as input twice`},
		{"input twice through Inputs", "g", []Edge{in, Inputs(Streams{"x", "in"}, strCodec{}, noop)}, `topic "in" is declared as input twice`},
		{"output twice", "g", []Edge{in, Output("o", strCodec{}), Output("o", strCodec{})}, `topic "o" is declared as output twice`},
		{"join twice", "g", []Edge{in, Join("t", strCodec{}), Join("t", strCodec{})}, `topic "t" is declared as join twice`},
		{"join and lookup", "g", []Edge{in, Join("t", strCodec{}), Lookup("t", strCodec{})}, `table "t" is both joined and looked up`},
		{"nil input codec", "g", []Edge{Input("in", nil, noop)}, `input edge "in" has a nil codec`},
		{"nil table codec", "g", []Edge{in, Persist(nil)}, `group table edge "g-table" has a nil codec`},
		{"nil input callback", "g", []Edge{Input("in", strCodec{}, nil)}, `input edge "in" has a nil callback`},
		{"nil loop callback", "g", []Edge{in, Loop(strCodec{}, nil)}, `loop edge "g-loop" has a nil callback`},
		{"codec conflict", "g", []Edge{in, Output("in", intCodec{})}, `topic "in" is used with codec goka.strCodec (input) and codec goka.intCodec (output)`},
		{"same codec in and out", "g", []Edge{in, Output("in", strCodec{})}, ""},
		{"visitor twice", "g", []Edge{in, Persist(intCodec{}), Visitor("v", noop), Visitor("v", noop)}, `visitor "v" is declared twice`},
		{"visitor without name", "g", []Edge{in, Persist(intCodec{}), Visitor("", noop)}, "visitor with an empty name"},
		{"visitor without callback", "g", []Edge{in, Persist(intCodec{}), Visitor("v", nil)}, `visitor "v" has a nil callback`},
		{"unknown edge type", "g", []Edge{in, customEdge{}}, "is not one of the library's edges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DefineGroup(tt.group, tt.edges...).Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, errors.Is(err, ErrInvalidGraph))
			assert.Contains(t, err.Error(), `group "`+string(tt.group)+`"`)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := DefineGroup("g", Persist(nil), Visitor("", noop)).Validate()
	require.Error(t, err)
	for _, want := range []string{"no input stream", "nil codec", "visitor with an empty name"} {
		assert.Contains(t, err.Error(), want)
	}
}
