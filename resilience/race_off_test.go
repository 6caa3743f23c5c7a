//go:build !race

package resilience_test

// raceEnabled is set under the race detector, whose instrumentation
// changes what allocates: allocation counts are checked without it.
const raceEnabled = false
