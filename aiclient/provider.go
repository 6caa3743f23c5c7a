package aiclient

import (
	"context"
	"encoding/json"
	"time"
)

// Provider is one LLM endpoint speaking one wire format, with its own
// credentials: an adapter from the openai, anthropic, gemini, bedrock,
// vertex or ollama packages, a [Client] (which routes over several), or a user's own.
//
// Implementations are safe for concurrent use.
type Provider interface {
	// Name is the provider's name as the OpenTelemetry GenAI conventions
	// spell it ("openai", "azure.ai.openai", "anthropic", "gcp.gemini",
	// "aws.bedrock", "gcp.vertex_ai", "ollama"), used in errors and
	// telemetry.
	Name() string
	// Chat sends req and returns the whole response.
	Chat(ctx context.Context, req *Request) (*Response, error)
	// Stream sends req and returns the response as a stream of events.
	// An error the provider answers with before streaming (a non-200
	// status) is returned here; one reported after is returned by
	// [Stream.Err].
	Stream(ctx context.Context, req *Request) (*Stream, error)
}

// Embedder is a provider that computes embeddings.
type Embedder interface {
	Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error)
}

// ModelLister is a provider that lists its models.
type ModelLister interface {
	Models(ctx context.Context) ([]Model, error)
}

// EmbedRequest asks for one embedding per input.
type EmbedRequest struct {
	// Model is the embedding model, or an alias a [Client] routes.
	Model string `json:"model"`
	// Input holds the texts to embed.
	Input []string `json:"input"`
	// Dimensions asks for shorter vectors, where the model supports it;
	// zero is the model's default.
	Dimensions int `json:"dimensions,omitempty"`
	// User identifies the end user to the provider.
	User string `json:"user,omitempty"`
	// Native holds the members of the caller's own body that no field
	// here models, as [Request.Native].
	Native *Native `json:"native,omitempty"`
	// Extra holds provider-specific body members, as [Request.Extra].
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// EmbedResponse holds one vector per input, in input order.
type EmbedResponse struct {
	Model      string      `json:"model"`
	Embeddings [][]float32 `json:"embeddings"`
	// Usage counts input tokens where the provider reports them.
	Usage Usage `json:"usage"`
}

// Model describes a model a provider serves.
type Model struct {
	// ID is the name to put in [Request.Model].
	ID string `json:"id"`
	// Provider is the provider's name.
	Provider string `json:"provider"`
	// OwnedBy is the owner the provider reports, if any.
	OwnedBy string `json:"owned_by,omitempty"`
	// Created is when the model was published, if known.
	Created time.Time `json:"created,omitzero"`
}
