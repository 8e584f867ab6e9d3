// Command 4-tests shows how to unit-test processor callbacks with the tester
// package. Its processors form a small order pipeline, every message keyed by
// customer:
//
//	validator       orders                              → checked-orders, rejected-orders
//	credit          credit-limits                       → credit-table
//	approver        checked-orders, joins credit-table  → approved-orders, rejected-orders, approver-table
//	customer-stats  approved-orders, rejected-orders    → customer-stats-table
//
// The program is its tests; they run on the tester's in-memory Kafka:
//
//	go test -race ./examples/4-tests
//
// Running the command only prints the processors' graphs.
package main

import (
	"fmt"
	"strings"
)

func main() {
	fmt.Println("The processors of this example are exercised by its tests, in memory:")
	fmt.Println()
	fmt.Println("\tgo test -race -v ./examples/4-tests")
	fmt.Println()
	for _, gg := range graphs() {
		fmt.Printf("%s\n", gg.Group())
		fmt.Printf("\tinputs:  %s\n", list(gg.InputStreams().Topics()))
		fmt.Printf("\tjoins:   %s\n", list(gg.JointTables().Topics()))
		fmt.Printf("\toutputs: %s\n", list(gg.OutputStreams().Topics()))
		if table := gg.GroupTable(); table != nil {
			fmt.Printf("\ttable:   %s\n", table.Topic())
		}
	}
}

func list(topics []string) string {
	if len(topics) == 0 {
		return "-"
	}
	return strings.Join(topics, ", ")
}
