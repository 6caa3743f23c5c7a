//go:build race

package gateway_test

// raceEnabled reports whether the race detector is on; timing-bound tests
// skip under it, since it slows every request several times over.
const raceEnabled = true
