package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/portico-dev/portico/gateway/upstream"
)

// serveUpstream serves the upstream and the mock provider on a loopback
// port, printing "listening ADDR" to out first.
func serveUpstream(out io.Writer) error {
	l, err := listen(out)
	if err != nil {
		return err
	}
	return http.Serve(l, newUpstream())
}

// listen opens a loopback port and prints "listening ADDR" to out.
func listen(out io.Writer) (net.Listener, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintln(out, "listening", l.Addr()); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// serveBare serves a bare httputil.ReverseProxy to target, printing
// "listening ADDR" to out first.
func serveBare(out io.Writer, target string, verbose bool) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	l, err := listen(out)
	if err != nil {
		return err
	}
	p := newBare(u)
	if verbose {
		p.ErrorLog = log.New(os.Stderr, "bare: ", 0)
	}
	return http.Serve(l, fullDuplex(p))
}

// newBare is the baseline: a ReverseProxy with the gateway's tuned
// transport and a pool of 32 KiB copy buffers, as the gateway's proxy
// has, so that the comparison does not flatter the gateway.
func newBare(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  upstream.NewTransport(nil),
		BufferPool: &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}},
		ErrorLog:   log.New(io.Discard, "", 0),
	}
}

// fullDuplex lets h read the request body after it has begun the
// response: without it, a provider answering a POST before the proxy has
// finished sending the body makes the server close that body under the
// transport, which then drops the connection mid-answer (Go issue 40747).
func fullDuplex(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		h.ServeHTTP(w, r)
	})
}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(s []byte) { b.p.Put(&s) }

// upstreamBody is what the upstream answers to GET and POST.
const upstreamBody = `{"id":"7f1c2b","status":"ok","items":[1,2,3],"note":"a small answer from the upstream"}` + "\n"

// newUpstream serves the upstream (any path: GET answers upstreamBody,
// POST reads the body and answers it too) and the mock OpenAI-compatible
// provider at /v1/chat/completions.
func newUpstream() http.Handler {
	whole, chunks := mockCompletion()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(whole)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		rc := http.NewResponseController(w)
		for _, c := range chunks {
			if _, err := w.Write(c); err != nil {
				return
			}
			_ = rc.Flush()
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, upstreamBody)
	})
	return mux
}

// answerText is the mock provider's answer, in 20 pieces when streamed.
var answerText = strings.Repeat("Portico forwards this. ", 12)[:260]

// mockCompletion returns the mock provider's whole answer (about 670
// bytes) and its stream: 20 content chunks, a finish chunk, a usage chunk
// and [DONE], each one SSE event.
func mockCompletion() ([]byte, [][]byte) {
	usage := map[string]any{"prompt_tokens": 12, "completion_tokens": 80, "total_tokens": 92,
		"prompt_tokens_details": map[string]any{"cached_tokens": 0}, "completion_tokens_details": map[string]any{"reasoning_tokens": 0}}
	head := map[string]any{"id": "chatcmpl-loadtest-0001", "created": 1767225600, "model": "mock-1", "system_fingerprint": "fp_loadtest"}
	with := func(kv map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range head {
			m[k] = v
		}
		for k, v := range kv {
			m[k] = v
		}
		return m
	}
	whole := must(json.Marshal(with(map[string]any{"object": "chat.completion", "usage": usage,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "logprobs": nil,
			"message": map[string]any{"role": "assistant", "content": answerText, "refusal": nil}}}})))
	event := func(v map[string]any) []byte {
		return append(append([]byte("data: "), must(json.Marshal(with(v)))...), "\n\n"...)
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"object": "chat.completion.chunk",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}}}
	}
	var chunks [][]byte
	piece := len(answerText) / 20
	for i := range 20 {
		delta := map[string]any{"content": answerText[i*piece : (i+1)*piece]}
		if i == 0 {
			delta["role"] = "assistant"
		}
		chunks = append(chunks, event(chunk(delta, nil)))
	}
	chunks = append(chunks, event(chunk(map[string]any{}, "stop")))
	chunks = append(chunks, event(map[string]any{"object": "chat.completion.chunk", "choices": []any{}, "usage": usage}))
	chunks = append(chunks, []byte("data: [DONE]\n\n"))
	return whole, chunks
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
