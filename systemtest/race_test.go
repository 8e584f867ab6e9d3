//go:build race

package systemtest_test

// raceEnabled tells counterBinary to build the counter command with the race
// detector too, so that the processes a test starts are checked as the test
// itself is.
const raceEnabled = true
