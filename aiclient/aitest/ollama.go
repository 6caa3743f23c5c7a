package aitest

import (
	"net/http"
	"time"
)

func (x *exchange) ollamaError(status int, _, msg string) {
	x.writeJSON(status, map[string]any{"error": msg})
}

func (x *exchange) ollama() {
	switch x.r.URL.Path {
	case "/api/tags":
		var ms []any
		for _, m := range x.s.models {
			ms = append(ms, map[string]any{"name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z", "size": 1})
		}
		x.writeJSON(http.StatusOK, map[string]any{"models": ms})
	case "/api/embed":
		if !x.take(x.ollamaError) {
			return
		}
		req := x.req()
		model, _ := req["model"].(string)
		x.writeJSON(http.StatusOK, map[string]any{"model": x.model(model), "embeddings": x.vectors(stringsOf(req["input"])),
			"prompt_eval_count": x.reply.Usage.InputTokens})
	case "/api/chat":
		if !x.take(x.ollamaError) {
			return
		}
		req := x.req()
		model, _ := req["model"].(string)
		if stream, ok := req["stream"].(bool); !ok || stream {
			x.ollamaStream(x.model(model))
			return
		}
		msg := map[string]any{"role": "assistant", "content": x.reply.Text}
		if x.reply.Reasoning != "" {
			msg["thinking"] = x.reply.Reasoning
		}
		if calls := x.ollamaCalls(); calls != nil {
			msg["tool_calls"] = calls
		}
		x.writeJSON(http.StatusOK, x.ollamaFinal(x.model(model), msg))
	default:
		x.ollamaError(http.StatusNotFound, "", "aitest: no Ollama endpoint at "+x.r.URL.Path)
	}
}

func (x *exchange) ollamaCalls() []any {
	var calls []any
	for _, tc := range x.reply.ToolCalls {
		calls = append(calls, map[string]any{"function": map[string]any{"name": tc.Name, "arguments": argsObject(tc)}})
	}
	return calls
}

func (x *exchange) ollamaFinal(model string, msg map[string]any) map[string]any {
	reason := x.reply.FinishReason
	if reason == "" {
		reason = "stop"
	}
	return map[string]any{"model": model, "created_at": time.Now().UTC().Format(time.RFC3339Nano), "message": msg,
		"done": true, "done_reason": reason, "total_duration": 1000, "load_duration": 10,
		"prompt_eval_count": x.reply.Usage.InputTokens, "eval_count": x.reply.Usage.OutputTokens}
}

func (x *exchange) ollamaStream(model string) {
	x.begin("application/x-ndjson")
	send := func(v map[string]any) bool {
		if x.fault() {
			x.line(map[string]any{"error": x.errorMessage()})
			return false
		}
		x.line(v)
		return true
	}
	chunk := func(msg map[string]any) bool {
		return send(map[string]any{"model": model, "created_at": time.Now().UTC().Format(time.RFC3339Nano), "message": msg, "done": false})
	}
	for _, c := range chunks(x.reply.Reasoning, x.reply.ChunkSize) {
		if !chunk(map[string]any{"role": "assistant", "content": "", "thinking": c}) {
			return
		}
	}
	for _, c := range chunks(x.reply.Text, x.reply.ChunkSize) {
		if !chunk(map[string]any{"role": "assistant", "content": c}) {
			return
		}
	}
	if calls := x.ollamaCalls(); calls != nil {
		if !chunk(map[string]any{"role": "assistant", "content": "", "tool_calls": calls}) {
			return
		}
	}
	send(x.ollamaFinal(model, map[string]any{"role": "assistant", "content": ""}))
}
