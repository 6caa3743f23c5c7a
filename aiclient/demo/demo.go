package demo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/portico-dev/portico/aiclient"
)

// Model is the name of the model the demo provider serves.
const Model = "portico-demo"

// DefaultDimensions is the length of an embedding when the request does
// not ask for one.
const DefaultDimensions = 8

// Provider is the demo provider. The zero value is not usable; call [New].
type Provider struct {
	name string
}

// Option configures a [Provider].
type Option func(*Provider)

// WithName sets the name the provider reports in errors, telemetry and
// model listings. By default, "demo".
func WithName(name string) Option {
	return func(p *Provider) {
		if name == "" {
			panic("portico/demo: WithName needs a name")
		}
		p.name = name
	}
}

// New returns a demo provider.
func New(opts ...Option) *Provider {
	p := &Provider{name: "demo"}
	for _, o := range opts {
		o(p)
	}
	return p
}

var (
	_ aiclient.Provider    = (*Provider)(nil)
	_ aiclient.Embedder    = (*Provider)(nil)
	_ aiclient.ModelLister = (*Provider)(nil)
)

// Name returns the provider's name, "demo" by default.
func (p *Provider) Name() string { return p.name }

// Chat answers req deterministically; see the package documentation.
func (p *Provider) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	evs, err := p.answer(ctx, req)
	if err != nil {
		return nil, err
	}
	var acc aiclient.Accumulator
	for _, ev := range evs {
		acc.Add(ev)
	}
	return acc.Response(), nil
}

// Stream answers req as a stream of events; folded with an
// [aiclient.Accumulator] they give what [Provider.Chat] returns.
func (p *Provider) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	evs, err := p.answer(ctx, req)
	if err != nil {
		return nil, err
	}
	i := 0
	return aiclient.NewStream(func() (aiclient.Event, error) {
		if err := ctx.Err(); err != nil {
			return aiclient.Event{}, err
		}
		if i == len(evs) {
			return aiclient.Event{}, io.EOF
		}
		i++
		return evs[i-1], nil
	}, nil), nil
}

// Models lists the one model the provider serves.
func (p *Provider) Models(context.Context) ([]aiclient.Model, error) {
	return []aiclient.Model{{ID: Model, Provider: p.name, OwnedBy: "portico"}}, nil
}

// answer builds the events of the reply to req.
func (p *Provider) answer(ctx context.Context, req *aiclient.Request) ([]aiclient.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req == nil || len(req.Messages) == 0 {
		return nil, aiclient.NewError(p.name, 400, "invalid_request", "messages: at least one message is required").
			WithKind(aiclient.KindInvalidRequest)
	}
	model := req.Model
	if model == "" {
		model = Model
	}
	usage := aiclient.Usage{InputTokens: inputTokens(req)}
	user := lastUserText(req.Messages)
	evs := make([]aiclient.Event, 1, 8)
	evs[0] = aiclient.Event{Type: aiclient.EventStart, ID: "demo-" + hashHex(req), Model: model}

	if call, ok := toolCall(req, user); ok {
		evs = append(evs,
			aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{ID: call.ID, Name: call.Name}},
		)
		args := string(call.Arguments)
		half := len(args) / 2
		evs = append(evs,
			aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Arguments: args[:half]}},
			aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Arguments: args[half:]}},
		)
		usage.OutputTokens = Tokens(call.Name) + Tokens(args)
		return append(evs,
			aiclient.Event{Type: aiclient.EventUsage, Usage: usage},
			aiclient.Event{Type: aiclient.EventFinish, FinishReason: aiclient.FinishToolCalls, RawFinishReason: "tool_calls"},
		), nil
	}

	text := reply(req, user)
	finish := aiclient.FinishStop
	if max := req.MaxOutputTokens; max > 0 && Tokens(text) > int64(max) {
		text = truncate(text, max)
		finish = aiclient.FinishLength
	}
	ws := words(text)
	evs = slices.Grow(evs, len(ws)+2)
	for _, w := range ws {
		evs = append(evs, aiclient.Event{Type: aiclient.EventText, Text: w})
	}
	usage.OutputTokens = Tokens(text)
	return append(evs,
		aiclient.Event{Type: aiclient.EventUsage, Usage: usage},
		aiclient.Event{Type: aiclient.EventFinish, FinishReason: finish, RawFinishReason: string(finish)},
	), nil
}

// reply is the text answer to req.
func reply(req *aiclient.Request, user string) string {
	if last := req.Messages[len(req.Messages)-1]; last.Role == aiclient.RoleTool {
		return "The tool answered: " + last.Text()
	}
	if f := req.ResponseFormat; f != nil {
		switch f.Type {
		case aiclient.FormatJSONSchema:
			v := fill(f.Schema, user, 0)
			b, _ := json.Marshal(v)
			return string(b)
		case aiclient.FormatJSON:
			b, _ := json.Marshal(map[string]string{"text": user})
			return string(b)
		}
	}
	return "You said: " + user
}

// lastUserText is the text of the last user message.
func lastUserText(ms []aiclient.Message) string {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Role == aiclient.RoleUser {
			return ms[i].Text()
		}
	}
	return ""
}

// toolCall decides whether the reply is a tool call, and builds it.
func toolCall(req *aiclient.Request, user string) (aiclient.ToolCall, bool) {
	if len(req.Tools) == 0 {
		return aiclient.ToolCall{}, false
	}
	if req.ToolChoice != nil && req.ToolChoice.Mode == aiclient.ChoiceNone {
		return aiclient.ToolCall{}, false
	}
	for _, m := range req.Messages {
		if m.Role == aiclient.RoleTool {
			return aiclient.ToolCall{}, false
		}
	}
	tool := req.Tools[0]
	if req.ToolChoice != nil && req.ToolChoice.Mode == aiclient.ChoiceTool {
		found := false
		for _, t := range req.Tools {
			if t.Name == req.ToolChoice.Name {
				tool, found = t, true
			}
		}
		if !found {
			return aiclient.ToolCall{}, false
		}
	}
	args, _ := json.Marshal(fill(tool.Parameters, user, 0))
	if string(args) == "null" {
		args = []byte("{}")
	}
	return aiclient.ToolCall{ID: "call_" + hashHex(req)[:8], Name: tool.Name, Arguments: args}, true
}

// Tokens is the demo's token count of s: one per four bytes, at least one
// for non-empty text.
func Tokens(s string) int64 {
	if s == "" {
		return 0
	}
	return int64(len(s)+3) / 4
}

// inputTokens counts the tokens of every text part and tool definition.
func inputTokens(req *aiclient.Request) int64 {
	var n int64
	for _, m := range req.Messages {
		n += 1 + Tokens(m.Text())
		for _, c := range m.ToolCalls {
			n += Tokens(c.Name) + Tokens(string(c.Arguments))
		}
	}
	for _, t := range req.Tools {
		n += Tokens(t.Name) + Tokens(t.Description) + Tokens(string(t.Parameters))
	}
	return n
}

// words splits text into deltas that concatenate back to it: each word
// with the space before it.
func words(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// truncate cuts text to max tokens, on a rune boundary.
func truncate(text string, max int) string {
	n := max * 4
	if n >= len(text) {
		return text
	}
	for n > 0 && !isRuneStart(text[n]) {
		n--
	}
	return strings.TrimRight(text[:n], " ")
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// errNoInput is returned for an embeddings request without input.
var errNoInput = errors.New("input: at least one text is required")
