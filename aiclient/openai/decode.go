package openai

import (
	"encoding/json"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/internal/jsonscan"
)

// Chunks and completions are read by a scanner of their own (see
// scanner), falling back to encoding/json on anything it does not handle;
// the results are the same either way (FuzzDecodeChunk,
// FuzzDecodeCompletion).

// streamChoice is a choice of a stream chunk.
type streamChoice struct {
	Index        int         `json:"index"`
	Delta        respMessage `json:"delta"`
	FinishReason *string     `json:"finish_reason"`
	Logprobs     *logprobs   `json:"logprobs"`
}

// completion is a whole Chat Completions response.
type completion struct {
	ID      string    `json:"id"`
	Model   string    `json:"model"`
	Created int64     `json:"created"`
	Choices []choice  `json:"choices"`
	Usage   *usage    `json:"usage"`
	Error   *apiError `json:"error"`
}

// choice is a choice of a whole response.
type choice struct {
	Message      respMessage `json:"message"`
	FinishReason *string     `json:"finish_reason"`
	Logprobs     *logprobs   `json:"logprobs"`
}

// decodeChunk decodes a stream chunk into h, and only when withHead is
// set its ID, model and creation time, and the members native keeps.
func decodeChunk(data []byte, h *head, withHead bool) (*aiclient.Native, error) {
	s := newScanner(data, withHead)
	if s.chunk(h, withHead) && s.End() {
		return s.native(), nil
	}
	*h = head{}
	if !withHead {
		return nil, json.Unmarshal(data, &h.chunk)
	}
	if err := json.Unmarshal(data, h); err != nil {
		return nil, err
	}
	return native(data), nil
}

// scanCompletion reads a whole response into c, and the members native
// keeps, if the scanner takes it; ok is false (and c partly filled)
// otherwise.
func scanCompletion(data []byte, c *completion) (nat *aiclient.Native, ok bool) {
	s := newScanner(data, true)
	if s.completion(c) && s.End() {
		return s.native(), true
	}
	return nil, false
}

var (
	headNames       = []string{"choices", "usage", "error", "object", "message", "type", "id", "model", "created"}
	chunkNames      = headNames[:6]
	completionNames = []string{"id", "model", "created", "choices", "usage", "error"}
	deltaNames      = []string{"index", "delta", "finish_reason", "logprobs"}
	choiceNames     = []string{"message", "finish_reason", "logprobs"}
	messageNames    = []string{"role", "content", "reasoning_content", "reasoning", "refusal", "tool_calls"}
	toolCallNames   = []string{"index", "id", "type", "function"}
	functionNames   = []string{"name", "arguments"}
	usageNames      = []string{"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details"}
	cachedNames     = []string{"cached_tokens"}
	reasoningNames  = []string{"reasoning_tokens"}
)

func (s *scanner) chunk(h *head, withHead bool) bool {
	names := chunkNames
	if withHead {
		names = headNames
	}
	c := &h.chunk
	return s.object(names, func(k int) bool {
		switch k {
		case 0:
			return jsonscan.Array(&s.Scanner, &c.Choices, s.streamChoice)
		case 1:
			return s.usage(&c.Usage)
		case 2:
			return s.Null()
		case 3:
			return s.Known(&c.Object, "chat.completion.chunk")
		case 4:
			return s.Str(&c.Message)
		case 5:
			return s.Str(&c.Type)
		case 6:
			return s.Str(&h.ID)
		case 7:
			return s.Str(&h.Model)
		}
		return s.Int(&h.Created)
	})
}

func (s *scanner) completion(c *completion) bool {
	return s.object(completionNames, func(k int) bool {
		switch k {
		case 0:
			return s.Str(&c.ID)
		case 1:
			return s.Str(&c.Model)
		case 2:
			return s.Int(&c.Created)
		case 3:
			return jsonscan.Array(&s.Scanner, &c.Choices, s.choice)
		case 4:
			return s.usage(&c.Usage)
		}
		return s.Null()
	})
}

func (s *scanner) streamChoice(c *streamChoice) bool {
	return s.object(deltaNames, func(k int) bool {
		switch k {
		case 0:
			return s.IntValue(&c.Index)
		case 1:
			return s.Null() || s.message(&c.Delta)
		case 2:
			return s.StrPtr(&c.FinishReason)
		}
		return s.Null()
	})
}

func (s *scanner) choice(c *choice) bool {
	return s.object(choiceNames, func(k int) bool {
		switch k {
		case 0:
			return s.Null() || s.message(&c.Message)
		case 1:
			return s.StrPtr(&c.FinishReason)
		}
		return s.Null()
	})
}

func (s *scanner) message(m *respMessage) bool {
	return s.object(messageNames, func(k int) bool {
		switch k {
		case 0:
			return s.Known(&m.Role, "assistant")
		case 1:
			if s.Null() {
				return true
			}
			var ok bool
			m.content, ok = s.Text()
			m.Content = &m.content
			return ok
		case 2:
			return s.Str(&m.ReasoningContent)
		case 3:
			return s.Str(&m.Reasoning)
		case 4:
			return s.StrPtr(&m.Refusal)
		}
		return jsonscan.Array(&s.Scanner, &m.ToolCalls, s.toolCall)
	})
}

func (s *scanner) toolCall(tc *toolCall) bool {
	return s.object(toolCallNames, func(k int) bool {
		switch k {
		case 0:
			if s.Null() {
				return true
			}
			var n int
			if !s.IntValue(&n) {
				return false
			}
			tc.Index = &n
			return true
		case 1:
			return s.Str(&tc.ID)
		case 2:
			return s.Known(&tc.Type, "function")
		}
		return s.Null() || s.object(functionNames, func(k int) bool {
			if k == 0 {
				return s.Str(&tc.Function.Name)
			}
			return s.Str(&tc.Function.Arguments)
		})
	})
}

func (s *scanner) usage(dst **usage) bool {
	if s.Null() {
		return true
	}
	u := new(usage)
	*dst = u
	return s.object(usageNames, func(k int) bool {
		switch k {
		case 0:
			return s.Int(&u.PromptTokens)
		case 1:
			return s.Int(&u.CompletionTokens)
		case 2:
			return s.Int(&u.TotalTokens)
		case 3:
			if s.Null() {
				return true
			}
			u.PromptTokensDetails = &struct {
				CachedTokens int64 `json:"cached_tokens"`
			}{}
			return s.object(cachedNames, func(int) bool { return s.Int(&u.PromptTokensDetails.CachedTokens) })
		}
		if s.Null() {
			return true
		}
		u.CompletionTokensDetails = &struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		}{}
		return s.object(reasoningNames, func(int) bool { return s.Int(&u.CompletionTokensDetails.ReasoningTokens) })
	})
}
