package main

import (
	"testing"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/stretchr/testify/assert"
)

// The simplest test: one processor, one input, one message, and a look at
// the table it wrote.
func TestCreditStoresTheLimit(t *testing.T) {
	tt := tester.New(t)
	runProcessor(t, tt, creditGraph())

	tt.Consume(string(creditLimitsStream), "alice", int64(50_00))

	// Consume returned after the processor handled the message, so the table
	// holds its effect already: no waiting, no sleeping.
	assert.Equal(t, int64(50_00), tt.TableValue(goka.GroupTable(creditGroup), "alice"))
	assert.Nil(t, tt.TableValue(goka.GroupTable(creditGroup), "bob"), "a key never written is nil")
}

// A persisted value is the state of its key: the next message sees it.
func TestCreditKeepsTheLatestLimit(t *testing.T) {
	tt := tester.New(t)
	runProcessor(t, tt, creditGraph())

	tt.Consume(string(creditLimitsStream), "alice", int64(50_00))
	tt.Consume(string(creditLimitsStream), "bob", int64(10_00))
	tt.Consume(string(creditLimitsStream), "alice", int64(80_00))

	assert.Equal(t, int64(80_00), tt.TableValue(goka.GroupTable(creditGroup), "alice"))
	assert.Equal(t, int64(10_00), tt.TableValue(goka.GroupTable(creditGroup), "bob"))
	assert.Equal(t, []string{"alice", "bob"}, tt.GetTableKeys(goka.GroupTable(creditGroup)))
}
