package openai

import (
	"math"
	"strconv"

	"github.com/portico-dev/portico/internal/jsonscan"
)

// appendRequest appends w as json.Marshal writes it, without reflection,
// for the requests most calls send: messages of text, without tools,
// tool choice, response format or metadata. It reports false for any
// other request, which encoding/json writes (TestAppendRequestWritesWhat
// EncodingJSONWrites).
func appendRequest(b []byte, w *chatRequest) ([]byte, bool) {
	if len(w.Tools) > 0 || w.ToolChoice != nil || w.ResponseFormat != nil || len(w.Metadata) > 0 {
		return b, false
	}
	b = append(b, `{"model":`...)
	b = jsonscan.AppendString(b, w.Model)
	b = append(b, `,"messages":`...)
	if w.Messages == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range w.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendMessage(b, &w.Messages[i]); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	var ok bool
	if b, ok = appendFloatMember(b, `,"temperature":`, w.Temperature); !ok {
		return b, false
	}
	if b, ok = appendFloatMember(b, `,"top_p":`, w.TopP); !ok {
		return b, false
	}
	b = appendIntMember(b, `,"max_completion_tokens":`, int64(w.MaxCompletionTokens))
	b = appendIntMember(b, `,"max_tokens":`, int64(w.MaxTokens))
	if len(w.Stop) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range w.Stop {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendString(b, s)
		}
		b = append(b, ']')
	}
	if w.Seed != nil {
		b = append(b, `,"seed":`...)
		b = strconv.AppendInt(b, *w.Seed, 10)
	}
	b = appendStringMember(b, `,"user":`, w.User)
	if w.Logprobs {
		b = append(b, `,"logprobs":true`...)
	}
	if w.TopLogprobs != nil {
		b = append(b, `,"top_logprobs":`...)
		b = strconv.AppendInt(b, int64(*w.TopLogprobs), 10)
	}
	if w.ParallelToolCalls != nil {
		b = append(b, `,"parallel_tool_calls":`...)
		b = strconv.AppendBool(b, *w.ParallelToolCalls)
	}
	if w.Stream {
		b = append(b, `,"stream":true`...)
	}
	if w.StreamOptions != nil {
		b = append(b, `,"stream_options":{"include_usage":`...)
		b = strconv.AppendBool(b, w.StreamOptions.IncludeUsage)
		b = append(b, '}')
	}
	return append(b, '}'), true
}

// appendMessage appends a message whose content is text (or absent) and
// that has no tool calls; it reports false for any other.
func appendMessage(b []byte, m *message) ([]byte, bool) {
	if len(m.ToolCalls) > 0 {
		return b, false
	}
	b = append(b, `{"role":`...)
	b = jsonscan.AppendString(b, m.Role)
	switch c := m.Content.(type) {
	case nil:
	case string:
		// An interface holding "" is not empty to omitempty.
		b = append(b, `,"content":`...)
		b = jsonscan.AppendString(b, c)
	default:
		return b, false
	}
	b = appendStringMember(b, `,"reasoning_content":`, m.ReasoningContent)
	b = appendStringMember(b, `,"refusal":`, m.Refusal)
	b = appendStringMember(b, `,"tool_call_id":`, m.ToolCallID)
	return append(b, '}'), true
}

// appendStringMember appends an omitempty string member.
func appendStringMember(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return jsonscan.AppendString(append(b, name...), s)
}

// appendIntMember appends an omitempty integer member.
func appendIntMember(b []byte, name string, n int64) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(append(b, name...), n, 10)
}

// appendFloatMember appends an omitempty *float64 member as
// encoding/json writes it; it reports false for a value encoding/json
// would write in exponent form, or refuse.
func appendFloatMember(b []byte, name string, f *float64) ([]byte, bool) {
	if f == nil {
		return b, true
	}
	if a := math.Abs(*f); math.IsNaN(a) || math.IsInf(a, 0) || a != 0 && (a < 1e-6 || a >= 1e21) {
		return b, false
	}
	return strconv.AppendFloat(append(b, name...), *f, 'f', -1, 64), true
}
