package aitest

import (
	"fmt"
	"net/http"
	"strings"
)

func (x *exchange) geminiError(status int, code, msg string) {
	if code == "" {
		switch status {
		case http.StatusBadRequest:
			code = "INVALID_ARGUMENT"
		case http.StatusUnauthorized:
			code = "UNAUTHENTICATED"
		case http.StatusForbidden:
			code = "PERMISSION_DENIED"
		case http.StatusNotFound:
			code = "NOT_FOUND"
		case http.StatusTooManyRequests:
			code = "RESOURCE_EXHAUSTED"
		case http.StatusServiceUnavailable:
			code = "UNAVAILABLE"
		case http.StatusGatewayTimeout:
			code = "DEADLINE_EXCEEDED"
		default:
			code = "INTERNAL"
		}
	}
	e := map[string]any{"code": status, "message": msg, "status": code}
	if x.reply.RetryAfter > 0 {
		e["details"] = []any{map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo",
			"retryDelay": fmt.Sprintf("%gs", x.reply.RetryAfter.Seconds())}}
	}
	x.writeJSON(status, map[string]any{"error": e})
}

func (x *exchange) gemini() {
	p := x.r.URL.Path
	model, method, _ := strings.Cut(strings.TrimPrefix(p, "/v1beta/models/"), ":")
	switch {
	case x.r.Method == http.MethodGet && p == "/v1beta/models":
		var ms []any
		for _, m := range x.s.models {
			ms = append(ms, map[string]any{"name": "models/" + m, "displayName": m, "supportedGenerationMethods": []string{"generateContent"}})
		}
		x.writeJSON(http.StatusOK, map[string]any{"models": ms})
	case method == "batchEmbedContents":
		if !x.take(x.geminiError) {
			return
		}
		var inputs []string
		reqs, _ := x.req()["requests"].([]any)
		for _, r := range reqs {
			content, _ := r.(map[string]any)["content"].(map[string]any)
			parts, _ := content["parts"].([]any)
			var text string
			for _, part := range parts {
				t, _ := part.(map[string]any)["text"].(string)
				text += t
			}
			inputs = append(inputs, text)
		}
		var es []any
		for _, v := range x.vectors(inputs) {
			es = append(es, map[string]any{"values": v})
		}
		x.writeJSON(http.StatusOK, map[string]any{"embeddings": es})
	case method == "generateContent" || method == "streamGenerateContent":
		x.geminiGenerate(model, method)
	default:
		x.geminiError(http.StatusNotFound, "", "aitest: no Gemini endpoint at "+p)
	}
}

// geminiParts renders reasoning, text and (if calls) the function calls.
// geminiGenerate answers generateContent or streamGenerateContent with
// the next reply, as the Gemini API and Vertex AI do.
func (x *exchange) geminiGenerate(model, method string) {
	if !x.take(x.geminiError) {
		return
	}
	if method == "streamGenerateContent" {
		x.geminiStream(x.model(model))
		return
	}
	x.writeJSON(http.StatusOK, x.geminiResponse(x.model(model), x.geminiParts(x.reply.Reasoning, x.reply.Text, true), true, true))
}

func (x *exchange) geminiParts(reasoning, text string, calls bool) []any {
	var parts []any
	if reasoning != "" {
		parts = append(parts, map[string]any{"text": reasoning, "thought": true})
	}
	if text != "" {
		parts = append(parts, map[string]any{"text": text})
	}
	if calls {
		for _, tc := range x.reply.ToolCalls {
			parts = append(parts, map[string]any{"functionCall": map[string]any{"name": tc.Name, "args": argsObject(tc)}})
		}
	}
	return parts
}

func (x *exchange) geminiResponse(model string, parts []any, last, signed bool) map[string]any {
	if signed && x.reply.Signature != "" {
		// Gemini signs the first function call, or else the first
		// non-thought part.
		var target map[string]any
		for _, p := range parts {
			m := p.(map[string]any)
			if m["functionCall"] != nil {
				target = m
				break
			}
			if m["thought"] == nil && target == nil {
				target = m
			}
		}
		if target != nil {
			target["thoughtSignature"] = x.reply.Signature
		}
	}
	cand := map[string]any{"content": map[string]any{"role": "model", "parts": parts}, "index": 0}
	u := x.reply.Usage
	usage := map[string]any{"promptTokenCount": u.InputTokens, "totalTokenCount": u.InputTokens}
	if last {
		finish := x.reply.FinishReason
		if finish == "" {
			finish = "STOP"
		}
		cand["finishReason"] = finish
		usage = map[string]any{"promptTokenCount": u.InputTokens, "candidatesTokenCount": u.OutputTokens - u.ReasoningTokens,
			"totalTokenCount": u.InputTokens + u.OutputTokens}
		if u.ReasoningTokens > 0 {
			usage["thoughtsTokenCount"] = u.ReasoningTokens
		}
		if u.CacheReadTokens > 0 {
			usage["cachedContentTokenCount"] = u.CacheReadTokens
		}
	}
	return map[string]any{"candidates": []any{cand}, "usageMetadata": usage, "modelVersion": model, "responseId": x.id()}
}

func (x *exchange) geminiStream(model string) {
	x.begin("text/event-stream")
	type piece struct{ reasoning, text string }
	var pieces []piece
	for _, c := range chunks(x.reply.Reasoning, x.reply.ChunkSize) {
		pieces = append(pieces, piece{reasoning: c})
	}
	for _, c := range chunks(x.reply.Text, x.reply.ChunkSize) {
		pieces = append(pieces, piece{text: c})
	}
	send := func(v map[string]any) bool {
		if x.fault() {
			x.sse("", marshal(map[string]any{"error": map[string]any{"code": 500, "message": x.errorMessage(), "status": "INTERNAL"}}))
			return false
		}
		x.sse("", marshal(v))
		return true
	}
	signed := false
	for _, pc := range pieces {
		parts := x.geminiParts(pc.reasoning, pc.text, false)
		sign := !signed && pc.text != "" && len(x.reply.ToolCalls) == 0
		signed = signed || sign
		if !send(x.geminiResponse(model, parts, false, sign)) {
			return
		}
	}
	// The last chunk holds the function calls, the finish reason and the
	// full usage.
	var parts []any
	for _, tc := range x.reply.ToolCalls {
		parts = append(parts, map[string]any{"functionCall": map[string]any{"name": tc.Name, "args": argsObject(tc)}})
	}
	if len(parts) == 0 {
		parts = []any{map[string]any{"text": ""}}
	}
	send(x.geminiResponse(model, parts, true, !signed))
}
