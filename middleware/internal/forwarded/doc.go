// Package forwarded parses the proxy headers that carry a client's address:
// RFC 7239 Forwarded and the de facto X-Forwarded-For.
//
// It only extracts: [AppendFor] and [AppendXFF] list the nodes of the
// header lines in order, and [ParseNode] turns one node into an address.
// Deciding which node to believe (the rightmost one that is not a trusted
// proxy) is the caller's job; middleware.ClientIP does it.
//
// # Malformed input
//
// A node that cannot be parsed comes out as "" (or fails [ParseNode]), so
// a walk from the right stops there instead of skipping to an address the
// client may have forged further left.
//
// The functions keep no state and are safe for concurrent use.
package forwarded
