package ai

import (
	"encoding/json"
)

// OpenAPI returns an OpenAPI 3.1 document with one operation per prompt
// API, generated from the prompts' schemas, for the gateway to publish
// with its other documentation (package openapi's Parse and NewDocs serve
// it). It is nil when no prompt is served.
func (h *Handler) OpenAPI() []byte {
	if h.spec == nil {
		return nil
	}
	return append([]byte(nil), h.spec...)
}

func (h *Handler) openAPI() []byte {
	if len(h.prompts) == 0 {
		return nil
	}
	paths := map[string]any{}
	for _, p := range h.prompts {
		result := json.RawMessage(`{"type":"string"}`)
		if p.output != nil {
			result = p.Output
		}
		content := map[string]any{
			"application/json": map[string]any{"schema": map[string]any{
				"type": "object", "required": []string{"result"},
				"properties": map[string]any{"result": result},
			}},
		}
		if p.output == nil {
			content["text/event-stream"] = map[string]any{
				"schema": map[string]any{"type": "string",
					"description": `"delta" events with {"text": ...}, then a "done" event with {"usage": ...}`},
			}
		}
		problem := map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}
		desc := p.Description
		if desc == "" {
			desc = "Runs the prompt " + p.Name + " on the model " + p.Model + "."
		}
		op := map[string]any{
			"operationId": p.Name,
			"summary":     "Prompt " + p.Name,
			"description": desc,
			"tags":        []string{"prompts"},
			"requestBody": map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": p.Input},
			}},
			"responses": map[string]any{
				"200": map[string]any{"description": "The model's answer.", "content": content},
				"400": map[string]any{"description": "The input does not match the schema.", "content": problem},
				"401": map[string]any{"description": "The API key is missing or wrong.", "content": problem},
				"429": map[string]any{"description": "A rate limit or budget is exhausted.", "content": problem},
				"502": map[string]any{"description": "The model failed or answered outside the output schema.", "content": problem},
			},
		}
		if len(h.cfg.auths) > 0 {
			op["security"] = []any{map[string]any{"apiKey": []string{}}}
		}
		paths[p.Path] = map[string]any{"post": op}
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Prompt APIs", "version": "1.0.0"},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"apiKey": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Problem": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
					"status": map[string]any{"type": "integer"}, "detail": map[string]any{"type": "string"},
				},
			}},
		},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return b
}
