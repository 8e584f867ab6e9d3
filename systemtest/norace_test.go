//go:build !race

package systemtest_test

// raceEnabled is false: the tests run without the race detector, and so do
// the processes they start.
const raceEnabled = false
