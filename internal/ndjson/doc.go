// Package ndjson reads newline-delimited JSON streams, the framing Ollama
// streams its native API in.
//
// A [Decoder] returns one line at a time, without its "\n" or "\r\n"
// terminator, skipping blank lines. It does not depend on how the bytes
// were chunked on the wire, and fails with [ErrLineTooLong] rather than
// growing memory without bound. A final line without a terminator is
// returned as well, since many servers omit the last newline.
//
// A Decoder is used by one goroutine at a time.
package ndjson
