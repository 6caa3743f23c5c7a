//go:build !race

package gateway_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
