package aiclient

import (
	"encoding/json"
	"maps"
	"slices"
)

// Wire names a wire format that callers speak and adapters send.
type Wire string

// The wire formats a [Native] may hold members of.
const (
	// WireOpenAI is OpenAI's Chat Completions format, which the openai
	// adapter speaks (OpenAI, Azure OpenAI and compatible servers).
	WireOpenAI Wire = "openai"
	// WireAnthropic is Anthropic's Messages format, which the anthropic
	// adapter speaks.
	WireAnthropic Wire = "anthropic"
)

// Native holds the top-level members of a body, in one wire format, that
// no neutral field models, so that nothing a caller or a provider sent is
// lost on the way:
//
//   - On a [Request], the members of the caller's body that [Request]
//     does not model (OpenAI's logit_bias, service_tier, store or
//     prediction, Anthropic's top_k or service_tier...). An adapter
//     speaking Wire merges them into its body unchanged, before
//     [Request.Extra]; an adapter speaking another format cannot honour
//     them and refuses the call with a [KindInvalidRequest] error whose
//     Param names the first one (see [Native.Refuse]).
//   - On a [Response] (or the [EventStart] of a stream), the members of
//     the provider's body that [Response] does not model
//     (system_fingerprint, service_tier...), for a gateway answering in
//     the same format to pass on.
type Native struct {
	// Wire is the format the members belong to.
	Wire Wire `json:"wire"`
	// Fields are the members by name, as JSON.
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
}

// For returns the members of n if they belong to w, or nil.
func (n *Native) For(w Wire) map[string]json.RawMessage {
	if n == nil || n.Wire != w {
		return nil
	}
	return n.Fields
}

// Refuse returns nil if n holds no members or belongs to w, and otherwise
// the [KindInvalidRequest] error of provider (speaking w) that cannot
// honour them, naming the first member in alphabetical order.
func (n *Native) Refuse(provider, model string, w Wire) error {
	if n == nil || len(n.Fields) == 0 || n.Wire == w {
		return nil
	}
	first := slices.Sorted(maps.Keys(n.Fields))[0]
	return (&Error{Provider: provider, Model: model, Code: "unsupported_parameter", Param: first,
		Message: first + " is a parameter of the " + string(n.Wire) + " API that " + provider + " cannot honour"}).WithKind(KindInvalidRequest)
}

// Unknown returns the members of the JSON object body whose names are not
// in known and whose values are not null, or nil when there are none or
// body is not an object.
func Unknown(body []byte, known ...string) map[string]json.RawMessage {
	if m, ok := unknownMembers(body, known); ok {
		return m
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(body, &all) != nil {
		return nil
	}
	for _, k := range known {
		delete(all, k)
	}
	for k, v := range all {
		if string(v) == "null" { // the same as absent
			delete(all, k)
		}
	}
	if len(all) == 0 {
		return nil
	}
	return all
}

// Logprob is the log probability of one output token, with the most
// likely alternatives when they were asked for ([Request.TopLogprobs]).
// Its JSON form is OpenAI's.
type Logprob struct {
	// Token is the token's text.
	Token string `json:"token"`
	// Logprob is the natural logarithm of the token's probability.
	Logprob float64 `json:"logprob"`
	// Bytes are the UTF-8 bytes of the token, where the provider sends
	// them.
	Bytes []int `json:"bytes"`
	// TopLogprobs are the most likely tokens at this position.
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one of the most likely tokens at a position.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}
