// Package testkit holds what the aiclient adapters' tests share: the
// sample request every adapter encodes, golden-file comparison, and the
// hostile chunkings stream fixtures are replayed in.
//
// Nothing here is used concurrently except Golden, which only reads
// unless -update is given.
package testkit
