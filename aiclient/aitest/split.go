package aitest

import (
	"net/http"
	"unicode/utf8"
)

// Splitter cuts a response body into the pieces a [Server] or [Replay]
// writes and flushes one at a time, to deliver it in hostile chunkings.
type Splitter func(body []byte) [][]byte

// Bytewise writes one byte at a time.
func Bytewise(body []byte) [][]byte {
	out := make([][]byte, len(body))
	for i := range body {
		out[i] = body[i : i+1]
	}
	return out
}

// SplitCRLF cuts between every "\r" and the "\n" after it.
func SplitCRLF(body []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i+1 < len(body); i++ {
		if body[i] == '\r' && body[i+1] == '\n' {
			out = append(out, body[start:i+1])
			start = i + 1
		}
	}
	return append(out, body[start:])
}

// SplitRunes cuts inside every multi-byte UTF-8 rune, after its first byte.
func SplitRunes(body []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(body); {
		_, size := utf8.DecodeRune(body[i:])
		if size > 1 {
			out = append(out, body[start:i+1])
			start = i + 1
		}
		i += size
	}
	return append(out, body[start:])
}

// Replay returns a handler that answers every request with status 200,
// the content type and body, written in the splitter's pieces with a
// flush after each; a nil splitter writes the body whole. It replays a
// recorded provider response or stream.
func Replay(contentType string, body []byte, split Splitter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		writeSplit(w, body, split)
	})
}

func writeSplit(w http.ResponseWriter, body []byte, split Splitter) {
	rc := http.NewResponseController(w)
	if split == nil {
		w.Write(body)
		_ = rc.Flush()
		return
	}
	for _, piece := range split(body) {
		if _, err := w.Write(piece); err != nil {
			return
		}
		_ = rc.Flush()
	}
}
