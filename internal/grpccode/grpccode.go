// Package grpccode names the gRPC status codes and says which of them
// are a server's failure, without linking gRPC: the call log, which the
// gateway core links, and the gRPC proxy, whose transport tells circuit
// breakers and outlier ejection how a call ended, share one rule.
package grpccode

import "strconv"

// names are the names of the gRPC status codes, by number.
var names = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// Name returns the name of code c, such as "UNAVAILABLE" for 14, or
// "CODE(c)" for a code without a name.
func Name(c int) string {
	if c >= 0 && c < len(names) {
		return names[c]
	}
	return "CODE(" + strconv.Itoa(c) + ")"
}

// Number returns the number of the code named name, and whether there is
// one.
func Number(name string) (int, bool) {
	for i, n := range names {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// ServerFailure reports whether a call that ended with code c failed on
// the server's side. These are the codes OpenTelemetry's semantic
// conventions for gRPC server spans count as errors: UNKNOWN,
// DEADLINE_EXCEEDED, UNIMPLEMENTED (the server lacks the method),
// INTERNAL, UNAVAILABLE and DATA_LOSS. OK, CANCELLED and the codes that
// refuse the client's request (INVALID_ARGUMENT, NOT_FOUND,
// PERMISSION_DENIED, RESOURCE_EXHAUSTED...) are not: a client's error is
// not a server's failure.
func ServerFailure(c int) bool {
	switch Name(c) {
	case "UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS":
		return true
	}
	return false
}
