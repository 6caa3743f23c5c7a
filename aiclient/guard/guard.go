package guard

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/portico-dev/portico/aiclient"
)

// Guard is an [aiclient.Provider] that runs its rules, in order, on every
// request before passing it to the next provider, and on what comes back.
// It is safe for concurrent use.
type Guard struct {
	next   aiclient.Provider
	rules  []Rule
	output []Rule
	onFind func(context.Context, Finding)
}

// Option configures a [Guard].
type Option interface{ apply(*Guard) }

type optionFunc func(*Guard)

func (f optionFunc) apply(g *Guard) { f(g) }

// OnFinding calls fn for every rule that matches a call, whatever its
// action, so that findings reach a call record or a metric. By default,
// findings are dropped. fn must not keep req values: a Finding holds
// counts and names, never the values found.
func OnFinding(fn func(context.Context, Finding)) Option {
	return optionFunc(func(g *Guard) { g.onFind = fn })
}

// New returns a Guard running rules over calls to next. It returns an
// error naming the rule at fault for an invalid rule.
func New(next aiclient.Provider, rules []Rule, opts ...Option) (*Guard, error) {
	if next == nil {
		return nil, fmt.Errorf("portico/guard: New needs a provider")
	}
	g := &Guard{next: next, rules: rules}
	for i, r := range rules {
		if err := r.validate(i); err != nil {
			return nil, fmt.Errorf("portico/guard: %w", err)
		}
		if r.Output {
			g.output = append(g.output, r)
		}
	}
	for _, o := range opts {
		if o != nil {
			o.apply(g)
		}
	}
	return g, nil
}

// Name returns the next provider's name.
func (g *Guard) Name() string { return g.next.Name() }

// Chat runs the rules on req, calls the next provider with the masked
// request, restores masked values in the response and runs the output
// rules on it.
func (g *Guard) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	masked, vault, err := g.Inspect(ctx, req)
	if err != nil {
		return nil, err
	}
	resp, err := g.next.Chat(ctx, masked)
	if err != nil || resp == nil {
		return resp, err
	}
	restoreMessage(&resp.Message, vault)
	if out := g.newOutput(ctx, req.Model); out != nil {
		if err := out.message(resp); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// Stream runs the rules on req, streams the next provider's answer to
// the masked request, and restores masked values in the events, however
// the provider splits them.
func (g *Guard) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	masked, vault, err := g.Inspect(ctx, req)
	if err != nil {
		return nil, err
	}
	s, err := g.next.Stream(ctx, masked)
	if err != nil {
		return nil, err
	}
	out := g.newOutput(ctx, req.Model)
	if vault.Len() == 0 && out == nil {
		return s, nil
	}
	return aiclient.NewStream(newRestoringStream(ctx, s, vault, out).recv, s.Close), nil
}

// Embed passes embedding calls to the next provider when it computes
// embeddings, after the request rules ran over each input as a user
// message; masked inputs are embedded masked.
func (g *Guard) Embed(ctx context.Context, req *aiclient.EmbedRequest) (*aiclient.EmbedResponse, error) {
	e, ok := g.next.(aiclient.Embedder)
	if !ok {
		return nil, &aiclient.Error{Provider: g.Name(), Model: req.Model, Kind: aiclient.KindInvalidRequest, Message: "the provider computes no embeddings"}
	}
	chat := &aiclient.Request{Model: req.Model}
	for _, in := range req.Input {
		chat.Messages = append(chat.Messages, aiclient.UserText(in))
	}
	masked, _, err := g.Inspect(ctx, chat)
	if err != nil {
		return nil, err
	}
	cp := *req
	cp.Input = make([]string, len(masked.Messages))
	for i, m := range masked.Messages {
		cp.Input[i] = m.Text()
	}
	return e.Embed(ctx, &cp)
}

// Inspect runs the request rules on req, in order, and returns the
// request to send (a copy when a rule masked something; req itself is
// never modified) with the vault of masked values, or the error of a
// blocking rule.
func (g *Guard) Inspect(ctx context.Context, req *aiclient.Request) (*aiclient.Request, *Vault, error) {
	vault := &Vault{}
	out := req
	copied := false
	for _, r := range g.rules {
		if r.Output || r.When != nil && !r.When(ctx) {
			continue
		}
		if r.Check != nil {
			if err := g.runCheck(ctx, r, out); err != nil {
				return nil, nil, err
			}
			continue
		}
		n := countFound(out, r.Detector)
		if n == 0 {
			continue
		}
		g.found(ctx, Finding{Rule: r.Name, Action: r.Action, Kind: r.Detector.Kind(), Count: n})
		switch r.Action {
		case Block:
			return nil, nil, blocked(req.Model, r.Name, false)
		case Mask:
			if !copied {
				out, copied = cloneMessages(req), true
			}
			maskRequest(out, r.Detector, vault)
		}
	}
	return out, vault, nil
}

func (g *Guard) runCheck(ctx context.Context, r Rule, req *aiclient.Request) error {
	reason, err := r.Check.Check(ctx, req)
	if err != nil {
		g.found(ctx, Finding{Rule: r.Name, Action: r.Action, Kind: "CHECK", Reason: err.Error()})
		if r.FailOpen {
			return nil
		}
		return blocked(req.Model, r.Name, false)
	}
	if reason == "" {
		return nil
	}
	g.found(ctx, Finding{Rule: r.Name, Action: r.Action, Kind: "CHECK", Count: 1, Reason: reason})
	if r.Action == Block {
		return blocked(req.Model, r.Name, false)
	}
	return nil
}

func (g *Guard) found(ctx context.Context, f Finding) {
	if r, ok := ctx.Value(reportKey{}).(*Report); ok {
		r.add(f)
	}
	if g.onFind != nil {
		g.onFind(ctx, f)
	}
}

// Report collects the findings of the guards a call meets. Put one in
// the call's context with [WithReport]; it is safe for concurrent use.
type Report struct {
	mu       sync.Mutex
	findings []Finding
}

type reportKey struct{}

// WithReport returns a copy of ctx in which guards add their findings to r.
func WithReport(ctx context.Context, r *Report) context.Context {
	return context.WithValue(ctx, reportKey{}, r)
}

func (r *Report) add(f Finding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.findings = append(r.findings, f)
}

// Findings returns the findings so far, in order.
func (r *Report) Findings() []Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.findings)
}

// countFound counts what d finds in the text of req's messages.
func countFound(req *aiclient.Request, d Detector) int {
	n := 0
	for _, m := range req.Messages {
		for _, p := range m.Parts {
			if p.Type == aiclient.PartText || p.Type == aiclient.PartReasoning && !p.Redacted {
				n += len(d.Find(p.Text))
			}
		}
		for _, tc := range m.ToolCalls {
			n += len(d.Find(string(tc.Arguments)))
		}
	}
	return n
}

// cloneMessages copies req with its messages, parts and tool calls, so
// that masking leaves the caller's request alone.
func cloneMessages(req *aiclient.Request) *aiclient.Request {
	cp := *req
	cp.Messages = make([]aiclient.Message, len(req.Messages))
	for i, m := range req.Messages {
		m.Parts = append([]aiclient.Part(nil), m.Parts...)
		m.ToolCalls = append([]aiclient.ToolCall(nil), m.ToolCalls...)
		cp.Messages[i] = m
	}
	return &cp
}

// maskRequest replaces what d finds in req's text by placeholders.
func maskRequest(req *aiclient.Request, d Detector, v *Vault) {
	for i := range req.Messages {
		m := &req.Messages[i]
		for j := range m.Parts {
			p := &m.Parts[j]
			if p.Type == aiclient.PartText || p.Type == aiclient.PartReasoning && !p.Redacted {
				p.Text = maskText(p.Text, d, v)
			}
		}
		for j := range m.ToolCalls {
			tc := &m.ToolCalls[j]
			tc.Arguments = []byte(maskJSON(string(tc.Arguments), d, v))
		}
	}
}

func maskText(s string, d Detector, v *Vault) string {
	spans := d.Find(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.Start])
		b.WriteString(v.Mask(d.Kind(), s[sp.Start:sp.End]))
		last = sp.End
	}
	b.WriteString(s[last:])
	return b.String()
}

// restoreMessage restores masked values in a response's message.
func restoreMessage(m *aiclient.Message, v *Vault) {
	if v.Len() == 0 {
		return
	}
	for i := range m.Parts {
		if !m.Parts[i].Redacted {
			m.Parts[i].Text = v.Restore(m.Parts[i].Text)
		}
	}
	for i := range m.ToolCalls {
		m.ToolCalls[i].Arguments = []byte(v.RestoreJSON(string(m.ToolCalls[i].Arguments)))
	}
}

// maskJSON masks what d finds inside the string literals of the JSON
// text s, comparing and storing the decoded strings, so that a value
// restores the same in text and in tool-call arguments. Text that is not
// valid JSON is masked as text.
func maskJSON(s string, d Detector, v *Vault) string {
	if !json.Valid([]byte(s)) {
		return maskText(s, d, v)
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '"' {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		lit := s[i : j+1]
		var str string
		if json.Unmarshal([]byte(lit), &str) == nil {
			if m := maskText(str, d, v); m != str {
				lit = quoteJSON(m)
			}
		}
		b.WriteString(lit)
		i = j + 1
	}
	return b.String()
}
