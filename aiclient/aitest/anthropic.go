package aitest

import (
	"net/http"
	"strings"
)

func (x *exchange) anthropicError(status int, code, msg string) {
	if code == "" {
		switch status {
		case http.StatusBadRequest:
			code = "invalid_request_error"
		case http.StatusUnauthorized:
			code = "authentication_error"
		case http.StatusForbidden:
			code = "permission_error"
		case http.StatusNotFound:
			code = "not_found_error"
		case http.StatusRequestEntityTooLarge:
			code = "request_too_large"
		case http.StatusTooManyRequests:
			code = "rate_limit_error"
		case 529:
			code = "overloaded_error"
		default:
			code = "api_error"
		}
	}
	x.w.Header().Set("request-id", "req_aitest")
	x.writeJSON(status, map[string]any{"type": "error", "error": map[string]any{"type": code, "message": msg}})
}

func (x *exchange) anthropic() {
	p := x.r.URL.Path
	switch {
	case x.r.Method == http.MethodGet && strings.HasSuffix(p, "/v1/models"):
		var data []any
		for _, m := range x.s.models {
			data = append(data, map[string]any{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"})
		}
		x.writeJSON(http.StatusOK, map[string]any{"data": data, "has_more": false})
	case strings.HasSuffix(p, "/v1/messages"):
		if !x.take(x.anthropicError) {
			return
		}
		req := x.req()
		model, _ := req["model"].(string)
		if stream, _ := req["stream"].(bool); stream {
			x.anthropicStream(x.model(model))
			return
		}
		x.anthropicWhole(x.model(model))
	default:
		x.anthropicError(http.StatusNotFound, "", "aitest: no Anthropic endpoint at "+p)
	}
}

func (x *exchange) anthropicStop() string {
	if x.reply.FinishReason != "" {
		return x.reply.FinishReason
	}
	if len(x.reply.ToolCalls) > 0 {
		return "tool_use"
	}
	return "end_turn"
}

func (x *exchange) anthropicUsage(output bool) map[string]any {
	u := x.reply.Usage
	m := map[string]any{
		"input_tokens":                u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens,
		"cache_creation_input_tokens": u.CacheWriteTokens,
		"cache_read_input_tokens":     u.CacheReadTokens,
		"output_tokens":               1,
	}
	if output {
		m["output_tokens"] = u.OutputTokens
	}
	return m
}

func (x *exchange) anthropicWhole(model string) {
	var content []any
	if x.reply.Reasoning != "" {
		content = append(content, map[string]any{"type": "thinking", "thinking": x.reply.Reasoning, "signature": x.reply.Signature})
	}
	if x.reply.Text != "" {
		content = append(content, map[string]any{"type": "text", "text": x.reply.Text})
	}
	for i, tc := range x.reply.ToolCalls {
		content = append(content, map[string]any{"type": "tool_use", "id": x.anthropicID(i, tc), "name": tc.Name, "input": argsObject(tc)})
	}
	x.writeJSON(http.StatusOK, map[string]any{"id": x.id(), "type": "message", "role": "assistant", "model": model,
		"content": content, "stop_reason": x.anthropicStop(), "stop_sequence": nil, "usage": x.anthropicUsage(true)})
}

func (x *exchange) anthropicID(i int, tc ToolCall) string {
	if tc.ID != "" {
		return tc.ID
	}
	return "toolu_" + x.callID(i, tc)
}

func (x *exchange) anthropicStream(model string) {
	x.begin("text/event-stream")
	ev := func(name string, v map[string]any) bool {
		if x.fault() {
			x.sse("error", marshal(map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": x.errorMessage()}}))
			return false
		}
		v["type"] = name
		x.sse(name, marshal(v))
		return true
	}
	if !ev("message_start", map[string]any{"message": map[string]any{"id": x.id(), "type": "message", "role": "assistant", "model": model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": x.anthropicUsage(false)}}) {
		return
	}
	if !ev("ping", map[string]any{}) {
		return
	}
	index := 0
	block := func(start map[string]any, deltas []map[string]any) bool {
		if !ev("content_block_start", map[string]any{"index": index, "content_block": start}) {
			return false
		}
		for _, d := range deltas {
			if !ev("content_block_delta", map[string]any{"index": index, "delta": d}) {
				return false
			}
		}
		ok := ev("content_block_stop", map[string]any{"index": index})
		index++
		return ok
	}
	if x.reply.Reasoning != "" {
		var ds []map[string]any
		for _, c := range chunks(x.reply.Reasoning, x.reply.ChunkSize) {
			ds = append(ds, map[string]any{"type": "thinking_delta", "thinking": c})
		}
		ds = append(ds, map[string]any{"type": "signature_delta", "signature": x.reply.Signature})
		if !block(map[string]any{"type": "thinking", "thinking": "", "signature": ""}, ds) {
			return
		}
	}
	if x.reply.Text != "" {
		var ds []map[string]any
		for _, c := range chunks(x.reply.Text, x.reply.ChunkSize) {
			ds = append(ds, map[string]any{"type": "text_delta", "text": c})
		}
		if !block(map[string]any{"type": "text", "text": ""}, ds) {
			return
		}
	}
	for i, tc := range x.reply.ToolCalls {
		var ds []map[string]any
		for _, c := range chunks(string(marshal(argsObject(tc))), x.reply.ChunkSize) {
			ds = append(ds, map[string]any{"type": "input_json_delta", "partial_json": c})
		}
		if !block(map[string]any{"type": "tool_use", "id": x.anthropicID(i, tc), "name": tc.Name, "input": map[string]any{}}, ds) {
			return
		}
	}
	if !ev("message_delta", map[string]any{"delta": map[string]any{"stop_reason": x.anthropicStop(), "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": x.reply.Usage.OutputTokens}}) {
		return
	}
	ev("message_stop", map[string]any{})
}
