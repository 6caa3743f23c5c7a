package config

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware"
)

// AIGuardrail is one guardrail rule of an alias (see the aiclient/guard
// package): a detector or a check, and what to do when it matches.
type AIGuardrail struct {
	// Name identifies the rule in errors and call records. Required.
	Name string `yaml:"name"`
	// Action is block, mask or flag.
	Action string `yaml:"action"`
	// Detect names a detector: email, phone, card, iban, ip, secrets,
	// regex (with Pattern) or words (with Words). Exactly one of Detect,
	// MaxPromptTokens and External is set.
	Detect string `yaml:"detect"`
	// Pattern is the regular expression of detect: regex.
	Pattern string `yaml:"pattern"`
	// Words are the words and phrases of detect: words, matched whole and
	// ignoring case.
	Words []string `yaml:"words"`
	// Kind names what a regex or words detector finds, in placeholders
	// ("<KIND_1>"). If empty, CUSTOM.
	Kind string `yaml:"kind"`
	// MaxPromptTokens blocks or flags prompts estimated above this many
	// tokens.
	MaxPromptTokens int64 `yaml:"max_prompt_tokens"`
	// External asks a moderation or DLP service over HTTP.
	External *AIExternalCheck `yaml:"external"`
	// FailOpen lets a call through when External fails or times out; by
	// default it is blocked.
	FailOpen bool `yaml:"fail_open"`
	// Output runs the detector on responses instead of requests.
	Output bool `yaml:"output"`
	// Tenants and Consumers limit the rule to these callers; if both are
	// empty, it applies to every call.
	Tenants   []string `yaml:"tenants"`
	Consumers []string `yaml:"consumers"`
}

// AIExternalCheck is a guardrail's HTTP service; see guard.External.
type AIExternalCheck struct {
	URL     string            `yaml:"url"`
	Timeout time.Duration     `yaml:"timeout"`
	Headers map[string]string `yaml:"headers"`
}

// detector returns the detector g names.
func (g AIGuardrail) detector(at string) (guard.Detector, error) {
	switch g.Detect {
	case "email":
		return guard.Email(), nil
	case "phone":
		return guard.Phone(), nil
	case "card":
		return guard.Card(), nil
	case "iban":
		return guard.IBAN(), nil
	case "ip":
		return guard.IP(), nil
	case "secrets":
		return guard.Secrets(), nil
	case "regex":
		re, err := regexp.Compile(g.Pattern)
		if err != nil || g.Pattern == "" {
			return nil, fieldErr(at+".pattern", "is not a regular expression: %v", err)
		}
		return guard.Regexp(kindOr(g.Kind), re), nil
	case "words":
		if len(g.Words) == 0 {
			return nil, fieldErr(at+".words", "detect: words needs at least one word")
		}
		return guard.Words(kindOr(g.Kind), g.Words...), nil
	}
	return nil, fieldErr(at+".detect", "%q is not a detector (known: email, phone, card, iban, ip, secrets, regex, words)", g.Detect)
}

func kindOr(k string) string {
	if k == "" {
		return "CUSTOM"
	}
	return strings.ToUpper(k)
}

// rule returns the guard rule of g.
func (g AIGuardrail) rule(at string, hc *http.Client) (guard.Rule, error) {
	r := guard.Rule{Name: g.Name, Action: guard.Action(g.Action), FailOpen: g.FailOpen, Output: g.Output}
	set := 0
	if g.Detect != "" {
		set++
		d, err := g.detector(at)
		if err != nil {
			return r, err
		}
		r.Detector = d
	}
	if g.MaxPromptTokens > 0 {
		set++
		r.Check = guard.MaxPromptTokens(g.MaxPromptTokens)
	}
	if g.External != nil {
		set++
		if g.External.URL == "" {
			return r, fieldErr(at+".external.url", "is required")
		}
		h := http.Header{}
		for k, v := range g.External.Headers {
			h.Set(k, v)
		}
		r.Check = &guard.External{URL: g.External.URL, Timeout: g.External.Timeout, Header: h, Client: hc}
	}
	if set != 1 {
		return r, fieldErr(at, "set exactly one of detect, max_prompt_tokens and external")
	}
	if len(g.Tenants) > 0 || len(g.Consumers) > 0 {
		tenants, consumers := g.Tenants, g.Consumers
		r.When = func(ctx context.Context) bool {
			c := middleware.ConsumerFrom(ctx)
			return c != nil && (slices.Contains(tenants, c.Tenant) || slices.Contains(consumers, c.ID))
		}
	}
	return r, nil
}

// guarded wraps p, a candidate of alias m, in m's cache and guardrails:
// the guard outside, so the cache holds masked requests and answers.
func (m AIModel) guarded(at string, p aiclient.Provider, hc *http.Client, env *cacheEnv) (aiclient.Provider, []error) {
	var errs []error
	if m.Cache != nil {
		c, err := m.Cache.wrap(at+".cache", m.Alias, p, env)
		if err != nil {
			return nil, []error{err}
		}
		p = c
	}
	if len(m.Guardrails) == 0 {
		return p, nil
	}
	rules := make([]guard.Rule, 0, len(m.Guardrails))
	for i, g := range m.Guardrails {
		r, err := g.rule(at+"."+fields.Index("guardrails", i), hc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	g, err := guard.New(p, rules)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "portico/guard: ")
		if head, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(head, "rules[") {
			var i int
			var field string
			if n, _ := fmt.Sscanf(head, "rules[%d]%s", &i, &field); n >= 1 {
				return nil, []error{fieldErr(at+"."+fields.Index("guardrails", i)+field, "%s", rest)}
			}
		}
		return nil, []error{fieldErr(at+".guardrails", "%s", msg)}
	}
	return g, nil
}
