// Package conformance checks the AI gateway against the official OpenAI and
// Anthropic SDKs. It is a separate module so that the SDKs never enter the
// dependency graph of Portico's users; its tests run with
//
//	cd internal/conformance && go test -race ./...
//
// Each test points an SDK at a gateway/ai handler that is backed, in turn,
// by an aitest fake of OpenAI, Anthropic, Gemini and Ollama, so the
// translation from every provider's wire format is judged by the client
// its users actually run.
package conformance
