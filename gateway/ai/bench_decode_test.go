package ai

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/internal/cputime"
)

// BenchmarkReadChatRequest reads the load harness's streamed chat request
// from its body, as every chat call does first.
func BenchmarkReadChatRequest(b *testing.B) {
	h, err := New(aiclient.New())
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"model":"bench","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about gateways."}]}`)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	b.ReportAllocs()
	defer cputime.PerOp(b)()
	for b.Loop() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		var cr chatRequest
		if e := h.readJSON(w, r, &cr); e != nil {
			b.Fatal(e.message)
		}
	}
}
