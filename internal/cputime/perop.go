package cputime

import "testing"

// PerOp starts counting the process's CPU time (user and system) for b
// and returns the function that reports it per operation as cpu-ns/op:
// a steadier figure than time on a busy machine. Call PerOp after the
// benchmark's setup, where ResetTimer would go, and defer what it
// returns:
//
//	defer cputime.PerOp(b)()
func PerOp(b *testing.B) (report func()) {
	start := Process()
	return func() {
		if d := Process() - start; d > 0 && b.N > 0 {
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
