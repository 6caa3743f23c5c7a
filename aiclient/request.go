package aiclient

import "encoding/json"

// Role is who authored a [Message].
type Role string

// The roles of a conversation.
const (
	RoleSystem    Role = "system"
	RoleDeveloper Role = "developer"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// PartType is the kind of a content [Part].
type PartType string

// The kinds of content part.
const (
	PartText      PartType = "text"
	PartImage     PartType = "image"
	PartAudio     PartType = "audio"
	PartFile      PartType = "file"
	PartReasoning PartType = "reasoning"
)

// Part is one piece of a message's content.
type Part struct {
	// Type says which of the other fields are used.
	Type PartType `json:"type"`
	// Text is the text of a PartText or PartReasoning part.
	Text string `json:"text,omitempty"`
	// URL locates an image or file by reference (https: or a provider's
	// file URI). Data is used instead when set.
	URL string `json:"url,omitempty"`
	// Data holds the bytes of an inline image, audio clip or file.
	Data []byte `json:"data,omitempty"`
	// MIMEType is the media type of Data or URL, such as "image/png".
	MIMEType string `json:"mime_type,omitempty"`
	// Name is a file's name, for providers that want one.
	Name string `json:"name,omitempty"`
	// Detail is an image detail hint ("low", "high", "auto") for
	// providers that take one.
	Detail string `json:"detail,omitempty"`
	// Signature is an opaque token a provider attaches to a part and
	// needs back on the next turn: Anthropic's thinking signature or
	// Gemini's thoughtSignature. Send assistant messages back unchanged
	// to keep it.
	Signature string `json:"signature,omitempty"`
	// Redacted marks a reasoning part whose content the provider
	// encrypted; Text then holds the opaque data to send back.
	Redacted bool `json:"redacted,omitempty"`
	// Cache marks the end of a prompt prefix to cache, for providers that
	// take explicit cache breakpoints (Anthropic's cache_control). Others
	// cache prefixes on their own and ignore it.
	Cache bool `json:"cache,omitempty"`
}

// Text returns a text part.
func Text(s string) Part { return Part{Type: PartText, Text: s} }

// ImageURL returns an image part referring to url.
func ImageURL(url string) Part { return Part{Type: PartImage, URL: url} }

// Image returns an inline image part of the given media type.
func Image(data []byte, mimeType string) Part {
	return Part{Type: PartImage, Data: data, MIMEType: mimeType}
}

// Message is one turn of a conversation.
type Message struct {
	// Role is who authored the message.
	Role Role `json:"role"`
	// Parts is the content, in order.
	Parts []Part `json:"parts,omitempty"`
	// ToolCalls are the tools an assistant message asks to call.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is, in a RoleTool message, the ID of the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Name is, in a RoleTool message, the name of the tool that ran. It is
	// optional: adapters that need it (Gemini) look it up from the
	// assistant message holding the call.
	Name string `json:"name,omitempty"`
	// IsError marks a RoleTool message whose tool failed.
	IsError bool `json:"is_error,omitempty"`
}

// Text returns the concatenated text parts of m (reasoning excluded).
func (m Message) Text() string {
	var s string
	for _, p := range m.Parts {
		if p.Type == PartText {
			s += p.Text
		}
	}
	return s
}

// System returns a system message with one text part.
func System(text string) Message {
	return Message{Role: RoleSystem, Parts: []Part{Text(text)}}
}

// User returns a user message made of parts.
func User(parts ...Part) Message { return Message{Role: RoleUser, Parts: parts} }

// UserText returns a user message with one text part.
func UserText(text string) Message { return User(Text(text)) }

// ToolResult returns the tool message answering the call with ID callID.
func ToolResult(callID, content string) Message {
	return Message{Role: RoleTool, ToolCallID: callID, Parts: []Part{Text(content)}}
}

// ToolCall is a model's request to call a tool.
type ToolCall struct {
	// ID identifies the call; a tool result refers to it. Adapters
	// synthesise one for providers that send none.
	ID string `json:"id"`
	// Name is the tool's name.
	Name string `json:"name"`
	// Arguments is the JSON object of arguments as the model wrote it.
	// It is "{}" when the model sent none, and is not validated: a model
	// may write invalid JSON.
	Arguments json.RawMessage `json:"arguments"`
	// Signature is Gemini's thoughtSignature for the call, sent back as is.
	Signature string `json:"signature,omitempty"`
}

// Tool describes a function the model may call.
type Tool struct {
	// Name is the function's name.
	Name string `json:"name"`
	// Description tells the model when and how to call it.
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the arguments object. If nil, an
	// empty object schema is sent.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	// Strict asks providers that support it to follow the schema exactly.
	Strict bool `json:"strict,omitempty"`
	// Cache marks the end of a prompt prefix to cache, as [Part.Cache]:
	// on the last tool, it caches all tool definitions.
	Cache bool `json:"cache,omitempty"`
}

// ChoiceMode says whether and how the model must call tools.
type ChoiceMode string

// The tool choice modes.
const (
	ChoiceAuto     ChoiceMode = "auto"
	ChoiceNone     ChoiceMode = "none"
	ChoiceRequired ChoiceMode = "required"
	ChoiceTool     ChoiceMode = "tool" // call the tool named in ToolChoice.Name
)

// ToolChoice constrains tool calling.
type ToolChoice struct {
	Mode ChoiceMode `json:"mode"`
	// Name is the tool to call when Mode is ChoiceTool.
	Name string `json:"name,omitempty"`
}

// FormatType is the kind of [ResponseFormat].
type FormatType string

// The response formats.
const (
	FormatText       FormatType = "text"
	FormatJSON       FormatType = "json_object"
	FormatJSONSchema FormatType = "json_schema"
)

// ResponseFormat constrains the shape of the model's text output.
type ResponseFormat struct {
	Type FormatType `json:"type"`
	// Name names the schema (required by OpenAI; "response" if empty).
	Name string `json:"name,omitempty"`
	// Description describes the schema.
	Description string `json:"description,omitempty"`
	// Schema is the JSON Schema for FormatJSONSchema.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Strict asks for exact schema adherence where supported.
	Strict bool `json:"strict,omitempty"`
}

// Request is one chat call, in provider-neutral form.
//
// Optional numeric settings are pointers (or zero for MaxOutputTokens) so
// that "unset" leaves the provider's default in place. Settings a
// provider does not support are dropped by its adapter, as each adapter's
// documentation lists.
type Request struct {
	// Model is the model name, or an alias a [Client] routes.
	Model string `json:"model"`
	// Messages is the conversation, oldest first. System and developer
	// messages may appear anywhere; adapters whose provider takes one
	// system prompt join them.
	Messages []Message `json:"messages"`
	// Tools the model may call.
	Tools []Tool `json:"tools,omitempty"`
	// ToolChoice constrains tool calling; nil is the provider default.
	ToolChoice *ToolChoice `json:"tool_choice,omitempty"`
	// ParallelToolCalls, set to false, asks for at most one tool call per
	// turn (OpenAI's parallel_tool_calls, Anthropic's
	// disable_parallel_tool_use); nil is the provider's default, which
	// allows several. Adapters whose provider cannot be told (Gemini,
	// Bedrock, Ollama) refuse false with a [KindInvalidRequest] error.
	ParallelToolCalls *bool `json:"parallel_tool_calls,omitempty"`
	// ResponseFormat constrains the output; nil means free text.
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
	// Temperature is the sampling temperature.
	Temperature *float64 `json:"temperature,omitempty"`
	// TopP is the nucleus sampling mass.
	TopP *float64 `json:"top_p,omitempty"`
	// MaxOutputTokens caps the output, reasoning included. Zero is the
	// provider default (the Anthropic adapter, which must send one, sends
	// its configured default).
	MaxOutputTokens int `json:"max_output_tokens,omitempty"`
	// Stop sequences end the output when generated.
	Stop []string `json:"stop,omitempty"`
	// Seed asks for deterministic sampling where supported.
	Seed *int64 `json:"seed,omitempty"`
	// User identifies the end user to the provider for abuse monitoring.
	User string `json:"user,omitempty"`
	// Metadata is sent where the provider stores request metadata.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Logprobs asks for the log probability of each output token, in
	// [Response.Logprobs] (or [Event.Logprobs] of the text events).
	// Adapters whose provider has none (Anthropic, Bedrock, Ollama)
	// refuse the call with a [KindInvalidRequest] error.
	Logprobs bool `json:"logprobs,omitempty"`
	// TopLogprobs asks, with Logprobs, for this many most likely
	// alternatives at each position.
	TopLogprobs *int `json:"top_logprobs,omitempty"`
	// Native holds the members of the caller's own body that no field
	// here models; see [Native].
	Native *Native `json:"native,omitempty"`
	// Extra holds provider-specific top-level body members, merged into
	// the wire request last so they can add or override anything, for
	// example {"reasoning_effort": "low"} for OpenAI or
	// {"thinking": {"type": "enabled", "budget_tokens": 2048}} for
	// Anthropic. Keys are passed through verbatim.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Float returns a pointer to v, for the optional settings of [Request].
func Float(v float64) *float64 { return &v }

// Int returns a pointer to v, for [Request.Seed].
func Int(v int64) *int64 { return &v }

// MarshalJSON writes Arguments as JSON when it is valid JSON and as a
// JSON string otherwise, so a model's malformed arguments never make a
// response impossible to encode.
func (tc ToolCall) MarshalJSON() ([]byte, error) {
	type plain ToolCall
	p := plain(tc)
	if len(p.Arguments) == 0 || !json.Valid(p.Arguments) {
		s, err := json.Marshal(string(p.Arguments))
		if err != nil {
			return nil, err
		}
		p.Arguments = s
	}
	return json.Marshal(p)
}
