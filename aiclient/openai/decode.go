package openai

import (
	"encoding/json"

	"github.com/portico-dev/portico/aiclient"
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
	s := scanner{b: data, top: withHead}
	if s.chunk(h, withHead) && s.end() {
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
	s := scanner{b: data, top: true}
	if s.completion(c) && s.end() {
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
			return array(s, &c.Choices, s.streamChoice)
		case 1:
			return s.usage(&c.Usage)
		case 2:
			return s.null()
		case 3:
			return s.known(&c.Object, "chat.completion.chunk")
		case 4:
			return s.str(&c.Message)
		case 5:
			return s.str(&c.Type)
		case 6:
			return s.str(&h.ID)
		case 7:
			return s.str(&h.Model)
		}
		return s.int(&h.Created)
	})
}

func (s *scanner) completion(c *completion) bool {
	return s.object(completionNames, func(k int) bool {
		switch k {
		case 0:
			return s.str(&c.ID)
		case 1:
			return s.str(&c.Model)
		case 2:
			return s.int(&c.Created)
		case 3:
			return array(s, &c.Choices, s.choice)
		case 4:
			return s.usage(&c.Usage)
		}
		return s.null()
	})
}

// array reads a JSON array into *dst, an element at a time, as
// encoding/json does into a nil slice: null leaves it as it is, [] makes
// it empty, and a null element is a zero one. The elements are appended
// to (*dst)[:0], reusing its array.
func array[T any](s *scanner, dst *[]T, elem func(*T) bool) bool {
	if s.null() {
		return true
	}
	if !s.eat('[') {
		return false
	}
	if *dst = (*dst)[:0]; *dst == nil {
		*dst = []T{}
	}
	if s.eat(']') {
		return true
	}
	for {
		*dst = append(*dst, *new(T))
		if e := &(*dst)[len(*dst)-1]; !s.null() && !elem(e) {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat(']')
	}
}

func (s *scanner) streamChoice(c *streamChoice) bool {
	return s.object(deltaNames, func(k int) bool {
		switch k {
		case 0:
			return s.intValue(&c.Index)
		case 1:
			return s.null() || s.message(&c.Delta)
		case 2:
			return s.strPtr(&c.FinishReason)
		}
		return s.null()
	})
}

func (s *scanner) choice(c *choice) bool {
	return s.object(choiceNames, func(k int) bool {
		switch k {
		case 0:
			return s.null() || s.message(&c.Message)
		case 1:
			return s.strPtr(&c.FinishReason)
		}
		return s.null()
	})
}

func (s *scanner) message(m *respMessage) bool {
	return s.object(messageNames, func(k int) bool {
		switch k {
		case 0:
			return s.known(&m.Role, "assistant")
		case 1:
			if s.null() {
				return true
			}
			var ok bool
			m.content, ok = s.text()
			m.Content = &m.content
			return ok
		case 2:
			return s.str(&m.ReasoningContent)
		case 3:
			return s.str(&m.Reasoning)
		case 4:
			return s.strPtr(&m.Refusal)
		}
		return array(s, &m.ToolCalls, s.toolCall)
	})
}

func (s *scanner) toolCall(tc *toolCall) bool {
	return s.object(toolCallNames, func(k int) bool {
		switch k {
		case 0:
			if s.null() {
				return true
			}
			var n int
			if !s.intValue(&n) {
				return false
			}
			tc.Index = &n
			return true
		case 1:
			return s.str(&tc.ID)
		case 2:
			return s.known(&tc.Type, "function")
		}
		return s.null() || s.object(functionNames, func(k int) bool {
			if k == 0 {
				return s.str(&tc.Function.Name)
			}
			return s.str(&tc.Function.Arguments)
		})
	})
}

func (s *scanner) usage(dst **usage) bool {
	if s.null() {
		return true
	}
	u := new(usage)
	*dst = u
	return s.object(usageNames, func(k int) bool {
		switch k {
		case 0:
			return s.int(&u.PromptTokens)
		case 1:
			return s.int(&u.CompletionTokens)
		case 2:
			return s.int(&u.TotalTokens)
		case 3:
			if s.null() {
				return true
			}
			u.PromptTokensDetails = &struct {
				CachedTokens int64 `json:"cached_tokens"`
			}{}
			return s.object(cachedNames, func(int) bool { return s.int(&u.PromptTokensDetails.CachedTokens) })
		}
		if s.null() {
			return true
		}
		u.CompletionTokensDetails = &struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		}{}
		return s.object(reasoningNames, func(int) bool { return s.int(&u.CompletionTokensDetails.ReasoningTokens) })
	})
}
