// Package cputime reads the CPU time the process has used, for benchmarks
// that report CPU per operation (cpu-ns/op): on a busy machine, process CPU
// time holds steadier than wall time. It is safe for concurrent use.
package cputime
