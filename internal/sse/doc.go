// Package sse reads and writes Server-Sent Events, the text/event-stream
// framing that LLM providers and Portico's AI endpoints stream over.
//
// # Decoding
//
// A [Decoder] follows the parsing rules of the WHATWG HTML standard: lines
// end in "\r\n", "\r" or "\n" (mixed freely), lines starting with ":" are
// comments, an event's "data" lines are joined with "\n", an event is
// dispatched at the first empty line, and an event cut off by the end of
// the stream is dropped. It never depends on how the bytes were chunked on
// the wire: a "\r\n" or a UTF-8 rune split across two reads gives the same
// events as one large read. Lines, and events, longer than [Decoder.MaxLine]
// fail with [ErrLineTooLong] instead of growing memory without bound.
//
// # Encoding
//
// An [Encoder] writes events in the canonical form ("field: value" lines
// ending in "\n", a blank line after each event), splits multi-line data
// into several data lines, and flushes the writer after every event when
// it can, so an [net/http.ResponseWriter] streams each event as it is
// written.
//
// # Concurrency
//
// A Decoder or Encoder is used by one goroutine at a time.
package sse
