package ai

import (
	"encoding/json"

	"github.com/portico-dev/portico/internal/jsonscan"
)

// A chat request is read by a scanner (see the jsonscan package) for the
// shapes clients send, falling back to encoding/json on anything it does
// not handle; the values are the same either way (FuzzScanChatRequest).

// scannable is a request type with a scanner of its own.
type scannable interface {
	// scan fills the request and its kept members from body and reports
	// true, or reports false and leaves the request zero.
	scan(body []byte) bool
}

var (
	chatRequestNames = []string{"model", "messages", "tools", "tool_choice", "response_format", "temperature", "top_p",
		"max_tokens", "max_completion_tokens", "stop", "seed", "user", "metadata", "n", "stream", "stream_options",
		"logprobs", "top_logprobs", "parallel_tool_calls"}
	chatMessageNames  = []string{"role", "content", "name", "tool_calls", "tool_call_id"}
	chatToolCallNames = []string{"index", "id", "type", "function"}
	chatFunctionNames = []string{"name", "arguments"}
	chatToolNames     = []string{"type", "function"}
	toolFunctionNames = []string{"name", "description", "parameters", "strict"}
	streamOptionNames = []string{"include_usage"}
)

func (cr *chatRequest) scan(body []byte) bool {
	s := jsonscan.New(body)
	if cr.scanFrom(&s) && s.End() {
		return true
	}
	*cr = chatRequest{}
	return false
}

func (cr *chatRequest) scanFrom(s *jsonscan.Scanner) bool {
	return s.Object(chatRequestNames, func(k int) bool {
		switch k {
		case 0:
			return s.Str(&cr.Model)
		case 1:
			return jsonscan.Array(s, &cr.Messages, func(m *chatMessage) bool { return scanChatMessage(s, m) })
		case 2:
			return jsonscan.Array(s, &cr.Tools, func(t *chatTool) bool { return scanChatTool(s, t) })
		case 3:
			return raw(s, &cr.ToolChoice)
		case 4, 12:
			// response_format and metadata are left to encoding/json.
			return s.Null()
		case 5:
			return s.FloatPtr(&cr.Temperature)
		case 6:
			return s.FloatPtr(&cr.TopP)
		case 7:
			return s.IntValue(&cr.MaxTokens)
		case 8:
			return s.IntValue(&cr.MaxCompletionTokens)
		case 9:
			return raw(s, &cr.Stop)
		case 10:
			return s.Int64Ptr(&cr.Seed)
		case 11:
			return s.Str(&cr.User)
		case 13:
			return s.IntPtr(&cr.N)
		case 14:
			return s.Bool(&cr.Stream)
		case 15:
			if s.Null() {
				cr.StreamOptions = nil
				return true
			}
			cr.StreamOptions = &struct {
				IncludeUsage bool `json:"include_usage"`
			}{}
			return s.Object(streamOptionNames, func(int) bool { return s.Bool(&cr.StreamOptions.IncludeUsage) }, nil)
		case 16:
			return s.Bool(&cr.Logprobs)
		case 17:
			return s.IntPtr(&cr.TopLogprobs)
		}
		return s.BoolPtr(&cr.ParallelToolCalls)
	}, func(name, raw []byte) { jsonscan.Keep(&cr.rest, name, raw) })
}

// raw reads any value into *dst as encoding/json does into a
// json.RawMessage (null included), as a slice of the scanned body.
func raw(s *jsonscan.Scanner, dst *json.RawMessage) bool {
	v, ok := s.Raw()
	*dst = v
	return ok
}

func scanChatMessage(s *jsonscan.Scanner, m *chatMessage) bool {
	return s.Object(chatMessageNames, func(k int) bool {
		switch k {
		case 0:
			return s.Str(&m.Role)
		case 1:
			return raw(s, &m.Content)
		case 2:
			return s.Str(&m.Name)
		case 3:
			return jsonscan.Array(s, &m.ToolCalls, func(tc *chatToolCall) bool { return scanChatToolCall(s, tc) })
		}
		return s.Str(&m.ToolCallID)
	}, nil)
}

func scanChatToolCall(s *jsonscan.Scanner, tc *chatToolCall) bool {
	return s.Object(chatToolCallNames, func(k int) bool {
		switch k {
		case 0:
			return s.IntPtr(&tc.Index)
		case 1:
			return s.Str(&tc.ID)
		case 2:
			return s.Str(&tc.Type)
		}
		return s.Null() || s.Object(chatFunctionNames, func(k int) bool {
			if k == 0 {
				return s.Str(&tc.Function.Name)
			}
			return s.Str(&tc.Function.Arguments)
		}, nil)
	}, nil)
}

func scanChatTool(s *jsonscan.Scanner, t *chatTool) bool {
	return s.Object(chatToolNames, func(k int) bool {
		if k == 0 {
			return s.Str(&t.Type)
		}
		f := &t.Function
		return s.Null() || s.Object(toolFunctionNames, func(k int) bool {
			switch k {
			case 0:
				return s.Str(&f.Name)
			case 1:
				return s.Str(&f.Description)
			case 2:
				return raw(s, &f.Parameters)
			}
			return s.Bool(&f.Strict)
		}, nil)
	}, nil)
}
