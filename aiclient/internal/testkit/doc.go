// Package testkit holds what the aiclient adapters' tests share: the
// sample request every adapter encodes, golden-file comparison, the
// hostile chunkings stream fixtures are replayed in, and the harnesses
// that replay response, stream and stream-error fixtures through an
// adapter and compare its whole and streamed answers.
//
// Nothing here is used concurrently except Golden, which only reads
// unless -update is given; the harnesses run their cases as parallel
// subtests.
package testkit
