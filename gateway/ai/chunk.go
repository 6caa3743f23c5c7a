package ai

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/internal/jsonscan"
)

// appendChunk appends the JSON of c, a chat.completion.chunk with one
// choice, as json.Marshal writes it, without reflection: the stream's
// events are the gateway's hottest encoding. Members that are rare in a
// stream (tool calls, log probabilities) are encoded by encoding/json.
func appendChunk(b []byte, c *chatCompletion) []byte {
	b = append(b, `{"id":`...)
	b = jsonscan.AppendString(b, c.ID)
	b = append(b, `,"object":`...)
	b = jsonscan.AppendString(b, c.Object)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, c.Created, 10)
	b = append(b, `,"model":`...)
	b = jsonscan.AppendString(b, c.Model)
	b = append(b, `,"choices":[`...)
	for i := range c.Choices {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendChoice(b, &c.Choices[i])
	}
	b = append(b, ']')
	if c.Usage != nil {
		b = append(b, `,"usage":`...)
		if u, ok := c.Usage.(*chatUsage); ok {
			b = appendUsage(b, u)
		} else {
			b = appendMarshal(b, c.Usage)
		}
	}
	b = append(b, `,"system_fingerprint":`...)
	if c.SystemFingerprint == nil {
		b = append(b, "null"...)
	} else {
		b = appendRaw(b, c.SystemFingerprint)
	}
	return append(b, '}')
}

// appendUsage appends u as json.Marshal writes it (null for nil).
func appendUsage(b []byte, u *chatUsage) []byte {
	if u == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.TotalTokens, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokensDetails.CachedTokens, 10)
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokensDetails.ReasoningTokens, 10)
	return append(b, "}}"...)
}

func appendChoice(b []byte, ch *chatChoice) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(ch.Index), 10)
	if ch.Message != nil {
		b = append(b, `,"message":`...)
		b = appendMessage(b, ch.Message)
	}
	if ch.Delta != nil {
		b = append(b, `,"delta":`...)
		b = appendMessage(b, ch.Delta)
	}
	b = append(b, `,"logprobs":`...)
	if ch.Logprobs == nil {
		b = append(b, "null"...)
	} else {
		b = appendMarshal(b, ch.Logprobs)
	}
	b = append(b, `,"finish_reason":`...)
	if ch.FinishReason == nil {
		b = append(b, "null"...)
	} else {
		b = jsonscan.AppendString(b, *ch.FinishReason)
	}
	return append(b, '}')
}

func appendMessage(b []byte, m *respMessage) []byte {
	b = append(b, '{')
	sep := func() {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	if m.Role != "" {
		b = append(b, `"role":`...)
		b = jsonscan.AppendString(b, m.Role)
	}
	if m.Content != nil {
		sep()
		b = append(b, `"content":`...)
		b = jsonscan.AppendString(b, *m.Content)
	}
	if m.Refusal != nil {
		sep()
		b = append(b, `"refusal":`...)
		b = jsonscan.AppendString(b, *m.Refusal)
	}
	if len(m.ToolCalls) > 0 {
		sep()
		b = append(b, `"tool_calls":`...)
		b = appendMarshal(b, m.ToolCalls)
	}
	return append(b, '}')
}

// appendRaw appends raw as json.Marshal writes a json.RawMessage: a
// string that is plain is copied; any other value goes through
// encoding/json, which compacts and escapes it.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && jsonscan.Plain(raw[1:len(raw)-1]) {
		return append(b, raw...)
	}
	return appendMarshal(b, raw)
}

func appendMarshal(b []byte, v any) []byte {
	m, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, m...)
}

// nativeMembers are the provider's members of an answer, or of a
// stream's first chunk, prepared once per stream for every chunk the
// gateway writes.
type nativeMembers struct {
	// of is the Native prepared; ready is set once one is (nil included),
	// and fast when appendChunk can merge them (see chunkNative).
	of          *aiclient.Native
	ready, fast bool
	// extra is `,"name":value` for each member the chunk type does not
	// model, in name order.
	extra []byte
	// fingerprint is the provider's system_fingerprint.
	fingerprint json.RawMessage
}

// chunkNative prepares n's OpenAI members for appendChunk; fast is false
// when one of them names a member of the chunk that the provider's must
// replace (other than system_fingerprint), which only withNative does.
func chunkNative(n *aiclient.Native) (nm nativeMembers) {
	nm.of, nm.ready = n, true
	fields := n.For(aiclient.WireOpenAI)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	known := jsonKeys(&chatCompletion{})
	for _, k := range names {
		switch {
		case k == "system_fingerprint":
			nm.fingerprint = fields[k]
		case slices.Contains(known, k):
			return nativeMembers{of: n, ready: true}
		default:
			nm.extra = append(nm.extra, ',')
			nm.extra = jsonscan.AppendString(nm.extra, k)
			nm.extra = append(nm.extra, ':')
			nm.extra = appendMarshal(nm.extra, fields[k])
		}
	}
	nm.fast = true
	return nm
}

// encode appends c with the members of n that belong to OpenAI's format
// merged in to b, preparing them first unless nm holds n's already.
func (nm *nativeMembers) encode(b []byte, c *chatCompletion, n *aiclient.Native) []byte {
	if !nm.ready || nm.of != n {
		*nm = chunkNative(n)
	}
	if !nm.fast {
		return append(b, withNative(c, n, aiclient.WireOpenAI)...)
	}
	c.SystemFingerprint = nm.fingerprint
	b = appendChunk(b, c)
	if len(nm.extra) > 0 {
		b = append(b[:len(b)-1], nm.extra...)
		b = append(b, '}')
	}
	return b
}
