package engine

// Plan is a group graph compiled for running: what a partition does with a
// message of each topic, and which topics its callbacks may read and write.
// The API layer builds it once, when the processor is created, and nothing
// changes it afterwards, so partitions read it without locks and never search
// the graph per message.
type Plan struct {
	// Group is the consumer group's name.
	Group string
	// Routes says how to process a message of each input or loop topic.
	Routes map[string]Route
	// Visitors are the visitor callbacks by name.
	Visitors map[string]Handler
	// Table is the group table's topic; empty for a stateless group.
	Table string
	// Loop is the loop topic; empty without a loop.
	Loop string
	// Joins are the joined tables' topics.
	Joins []string
	// Inputs are the input topics, without the loop.
	Inputs []string
	// Outputs are the output topics.
	Outputs []string
	// DeadLetters are the dead-letter topics of the routes' policies.
	DeadLetters []string
	// Subscribed are the topics the consumer group subscribes to (the
	// inputs and the loop), sorted.
	Subscribed []string
	// Env is the API layer's own compiled graph, handed back by
	// Message.Env: the codecs and views a Context needs.
	Env any
}

// Route is the compiled edge of one input or loop topic.
type Route struct {
	// Decode turns a message's value into what the callback receives. It
	// must not panic (the API layer guards the user's codec).
	Decode func(data []byte) (any, error)
	// Handle calls the user's callback. A panic in it fails the message;
	// Message.Fail panics to end the callback early.
	Handle Handler
	// Policy says what happens when Decode or Handle fails.
	Policy ErrorPolicy
}

// Handler runs a user callback for a message (or a visited key).
type Handler func(m *Message, value any)

// Role is what a partition does on this instance.
type Role int

const (
	// RoleActive processes the partition's input and writes its group
	// table.
	RoleActive Role = iota
	// RolePassive keeps the group table and joins caught up (hot standby).
	RolePassive
	// RoleRecoverOnly restores the tables once, before the group is joined
	// (recover-ahead), and runs nothing.
	RoleRecoverOnly
)

// NilHandling says what happens to a message whose value is nil.
type NilHandling int

const (
	// NilIgnore commits it without calling the callback.
	NilIgnore NilHandling = iota
	// NilProcess calls the callback with nil, without decoding.
	NilProcess
	// NilDecode decodes nil and calls the callback with the result.
	NilDecode
)
