//go:build unix

package ratelimit_test

import "syscall"

// processCPU returns the CPU time the process has used, user and system,
// in nanoseconds. Benchmarks report it per operation, because wall time
// on a loaded machine says more about the neighbours than about the code.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
