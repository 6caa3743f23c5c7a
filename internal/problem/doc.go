// Package problem writes RFC 9457 "application/problem+json" responses.
//
// It is the only way a Portico package writes an error to a client. A
// problem document never carries stack traces, upstream addresses or
// secrets: callers put a short, client-safe explanation in Detail and log
// the rest.
package problem
