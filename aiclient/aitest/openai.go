package aitest

import (
	"net/http"
	"strings"
)

func (x *exchange) openaiError(status int, code, msg string) {
	typ := "invalid_request_error"
	switch {
	case status == http.StatusTooManyRequests:
		typ = "rate_limit_exceeded"
		if code == "" {
			code = "rate_limit_exceeded"
		}
	case status >= 500:
		typ = "server_error"
	case status == http.StatusUnauthorized:
		typ = "authentication_error"
	}
	var c any
	if code != "" {
		c = code
	}
	x.writeJSON(status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
}

func (x *exchange) openai() {
	p := x.r.URL.Path
	switch {
	case x.r.Method == http.MethodGet && strings.HasSuffix(p, "/models"):
		var data []any
		for _, m := range x.s.models {
			data = append(data, map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": "aitest"})
		}
		x.writeJSON(http.StatusOK, map[string]any{"object": "list", "data": data})
	case strings.HasSuffix(p, "/embeddings"):
		if !x.take(x.openaiError) {
			return
		}
		req := x.req()
		model, _ := req["model"].(string)
		var data []any
		for i, v := range x.vectors(stringsOf(req["input"])) {
			data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": v})
		}
		u := x.reply.Usage
		x.writeJSON(http.StatusOK, map[string]any{"object": "list", "data": data, "model": x.model(model),
			"usage": map[string]any{"prompt_tokens": u.InputTokens, "total_tokens": u.InputTokens}})
	case strings.HasSuffix(p, "/chat/completions"):
		if !x.take(x.openaiError) {
			return
		}
		req := x.req()
		model, _ := req["model"].(string)
		if stream, _ := req["stream"].(bool); stream {
			opts, _ := req["stream_options"].(map[string]any)
			usage, _ := opts["include_usage"].(bool)
			x.openaiStream(x.model(model), usage)
			return
		}
		x.openaiWhole(x.model(model))
	default:
		x.openaiError(http.StatusNotFound, "unknown_url", "aitest: no OpenAI endpoint at "+p)
	}
}

func (x *exchange) openaiFinish() string {
	if x.reply.FinishReason != "" {
		return x.reply.FinishReason
	}
	if len(x.reply.ToolCalls) > 0 {
		return "tool_calls"
	}
	return "stop"
}

func (x *exchange) openaiUsage() map[string]any {
	u := x.reply.Usage
	return map[string]any{
		"prompt_tokens": u.InputTokens, "completion_tokens": u.OutputTokens, "total_tokens": u.InputTokens + u.OutputTokens,
		"prompt_tokens_details":     map[string]any{"cached_tokens": u.CacheReadTokens, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": u.ReasoningTokens, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
}

func (x *exchange) openaiWhole(model string) {
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	if x.reply.Text != "" || len(x.reply.ToolCalls) == 0 {
		msg["content"] = x.reply.Text
	}
	if x.reply.Reasoning != "" {
		msg["reasoning_content"] = x.reply.Reasoning
	}
	if len(x.reply.ToolCalls) > 0 {
		var calls []any
		for i, tc := range x.reply.ToolCalls {
			calls = append(calls, map[string]any{"id": x.callID(i, tc), "type": "function",
				"function": map[string]any{"name": tc.Name, "arguments": args(tc)}})
		}
		msg["tool_calls"] = calls
	}
	x.writeJSON(http.StatusOK, map[string]any{
		"id": x.id(), "object": "chat.completion", "created": x.s.created, "model": model,
		"choices":            []any{map[string]any{"index": 0, "message": msg, "logprobs": x.openaiLogprobs(chunks(x.reply.Text, x.reply.ChunkSize)...), "finish_reason": x.openaiFinish()}},
		"usage":              x.openaiUsage(),
		"system_fingerprint": "fp_aitest",
		"service_tier":       "default",
	})
}

func (x *exchange) openaiStream(model string, includeUsage bool) {
	x.begin("text/event-stream")
	created := x.s.created
	chunk := func(delta map[string]any, finish any) bool { return x.openaiChunk(model, delta, finish) }
	if !chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil) {
		return
	}
	for _, c := range chunks(x.reply.Reasoning, x.reply.ChunkSize) {
		if !chunk(map[string]any{"reasoning_content": c}, nil) {
			return
		}
	}
	for _, c := range chunks(x.reply.Text, x.reply.ChunkSize) {
		if !chunk(map[string]any{"content": c}, nil) {
			return
		}
	}
	if !x.openaiToolCalls(chunk) {
		return
	}
	if !chunk(map[string]any{}, x.openaiFinish()) {
		return
	}
	if includeUsage {
		if x.fault() {
			x.sse("", marshal(map[string]any{"error": map[string]any{"message": x.errorMessage(), "type": "server_error"}}))
			return
		}
		x.sse("", marshal(map[string]any{"id": x.id(), "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{}, "usage": x.openaiUsage()}))
	}
	if x.fault() {
		return
	}
	x.sse("", []byte("[DONE]"))
}

// openaiToolCalls streams the reply's tool calls through chunk: a first
// fragment with ID and name, then argument fragments, call after call or
// interleaved. It reports false if a chunk failed.
func (x *exchange) openaiToolCalls(chunk func(delta map[string]any, finish any) bool) bool {
	type frag struct {
		call int
		args string
	}
	var frags [][]frag
	for i, tc := range x.reply.ToolCalls {
		if !chunk(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": x.callID(i, tc), "type": "function",
			"function": map[string]any{"name": tc.Name, "arguments": ""}}}}, nil) {
			return false
		}
		var fs []frag
		for _, a := range chunks(args(tc), x.reply.ChunkSize) {
			fs = append(fs, frag{i, a})
		}
		frags = append(frags, fs)
		if !x.reply.Interleave {
			for _, f := range fs {
				if !chunk(map[string]any{"tool_calls": []any{map[string]any{"index": f.call, "function": map[string]any{"arguments": f.args}}}}, nil) {
					return false
				}
			}
		}
	}
	if x.reply.Interleave {
		for k := 0; ; k++ {
			sent := false
			for _, fs := range frags {
				if k < len(fs) {
					sent = true
					if !chunk(map[string]any{"tool_calls": []any{map[string]any{"index": fs[k].call, "function": map[string]any{"arguments": fs[k].args}}}}, nil) {
						return false
					}
				}
			}
			if !sent {
				break
			}
		}
	}
	return true
}

// openaiChunk writes one chat.completion.chunk, or, at a fault, an error
// event instead; it reports whether the stream goes on.
func (x *exchange) openaiChunk(model string, delta map[string]any, finish any) bool {
	var logprobs any
	if c, ok := delta["content"].(string); ok && c != "" {
		logprobs = x.openaiLogprobs(c)
	}
	if x.fault() {
		x.sse("", marshal(map[string]any{"error": map[string]any{"message": x.errorMessage(), "type": "server_error", "param": nil, "code": nil}}))
		return false
	}
	x.sse("", marshal(map[string]any{"id": x.id(), "object": "chat.completion.chunk", "created": x.s.created, "model": model,
		"system_fingerprint": "fp_aitest", "service_tier": "default",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}}}))
	return true
}

// openaiLogprobs are the log probabilities of tokens when the request
// asked for them (null otherwise): each token is given -0.1 per byte, and
// top_logprobs alternatives the token, then the token followed by "?",
// "??"..., each 1 less likely.
func (x *exchange) openaiLogprobs(tokens ...string) any {
	req := x.req()
	if on, _ := req["logprobs"].(bool); !on {
		return nil
	}
	top, _ := req["top_logprobs"].(float64)
	content := []any{}
	for _, tok := range tokens {
		lp := -0.1 * float64(len(tok))
		alts := []any{}
		for i := range int(top) {
			alt := tok + strings.Repeat("?", i)
			alts = append(alts, map[string]any{"token": alt, "logprob": lp - float64(i), "bytes": utf8Ints(alt)})
		}
		content = append(content, map[string]any{"token": tok, "logprob": lp, "bytes": utf8Ints(tok), "top_logprobs": alts})
	}
	return map[string]any{"content": content, "refusal": nil}
}

func utf8Ints(s string) []int {
	b := make([]int, len(s))
	for i := range len(s) {
		b[i] = int(s[i])
	}
	return b
}
