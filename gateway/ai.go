package gateway

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/demo"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/ollama"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/openapi"
)

// AI mounts the AI endpoints of package gateway/ai beside the routes: the
// OpenAI-compatible API and Anthropic's Messages API under Prefix, and the
// prompt APIs at their paths, inside the global chain. Callers
// authenticate with the gateway's consumers (their API keys, or the
// authenticators Auth names); limits count in the gateway's window store
// and budgets in its quota store (see [Stores]), so replicas sharing
// Redis share them, and both survive reloads.
//
// The endpoints are routes of the gateway's table (see "One namespace" in
// the package documentation): a route overlapping one is a build error,
// /routes lists them, and a path under Prefix that nothing serves gets
// OpenAI's 404. Each authenticator is tried in turn, as on a route, so
// consumers' keys and the platform's keys both work.
type AI struct {
	// Prefix is where the OpenAI- and Anthropic-compatible endpoints are
	// served. If empty, "/v1".
	Prefix string `yaml:"prefix"`
	// Providers are the LLM endpoints the models use.
	Providers []AIProvider `yaml:"providers"`
	// Models map aliases to the providers' models, in fallback order.
	Models []AIModel `yaml:"models"`
	// Prices are the US dollars per million tokens of each provider
	// model, for budgets and call records.
	Prices map[string]AIPrice `yaml:"prices"`
	// Limits are token and request rate limits.
	Limits []ai.Limit `yaml:"limits"`
	// Budgets are spending limits. A budget covers every model, so every
	// candidate's model needs a price in Prices (zero for a free one);
	// a model without one is a build error.
	Budgets []ai.Budget `yaml:"budgets"`
	// Prompts are served as REST APIs.
	Prompts []AIPrompt `yaml:"prompts"`
	// Auth names the authenticators callers use, tried in order until one
	// identifies the caller. If empty, every authenticator the gateway
	// has; with none, callers are anonymous.
	Auth []string `yaml:"auth"`
	// LogContent puts prompts and completions in call records.
	LogContent bool `yaml:"log_content"`

	// Client serves the calls instead of Providers, Models and Prices,
	// for builder users who build their own.
	Client *aiclient.Client `yaml:"-"`
	// Options are added to the handler's options, for builder users.
	Options []ai.Option `yaml:"-"`
}

// AIProvider is an LLM endpoint.
type AIProvider struct {
	// Name is what models refer to. Required and unique.
	Name string `yaml:"name"`
	// Type is the wire format: openai (also any OpenAI-compatible server),
	// anthropic, gemini, ollama, azure (Azure OpenAI), bedrock (Amazon
	// Bedrock's Converse API), vertex (Gemini on Vertex AI), or demo (the
	// built-in offline provider).
	Type string `yaml:"type"`
	// BaseURL overrides the provider's default endpoint.
	BaseURL string `yaml:"base_url"`
	// APIKey is the provider's key, usually a ${ENV} reference. It never
	// leaves the gateway.
	APIKey string `yaml:"api_key"`
	// Optional drops the provider, and the candidates that use it, when
	// APIKey is empty, so "${OPENAI_API_KEY:-}" adds a provider only when
	// the variable is set. For the cloud types it looks at their identity
	// instead: api_key or entra (azure), api_key or region (bedrock),
	// project (vertex).
	Optional bool `yaml:"optional"`
	// Headers are sent with every request to the provider.
	Headers map[string]string `yaml:"headers"`
	// AICloud holds the settings of the azure, bedrock and vertex types.
	AICloud
	// TransportConfig tunes the connections to the provider, shared by
	// every call to it and kept across reloads while the provider's name
	// and these settings are unchanged: max_idle_conns_per_host (by
	// default 256; at least the calls in flight at once, or calls beyond
	// it open a new connection each), idle_conn_timeout (90s),
	// dial_timeout (10s), tls_handshake_timeout (10s). HTTP/2 is used
	// where the provider offers it. See aiclient.NewTransport.
	aiclient.TransportConfig
}

// AIModel is a model alias callers ask for.
type AIModel struct {
	// Alias is the model name callers send. Required and unique.
	Alias string `yaml:"alias"`
	// Candidates serve the alias; see aiclient.Candidate.
	Candidates []AICandidate `yaml:"candidates"`
}

// AICandidate is one way to serve an alias.
type AICandidate struct {
	// Provider names an [AIProvider].
	Provider string `yaml:"provider"`
	// Model is the provider's model; empty means the alias.
	Model string `yaml:"model"`
	// Priority orders candidates, lowest first; Weight shares calls
	// among candidates of one priority.
	Priority int `yaml:"priority"`
	Weight   int `yaml:"weight"`
}

// AIPrice is what a model costs, in US dollars per million tokens; see
// aiclient.Price.
type AIPrice struct {
	Input       float64 `yaml:"input"`
	CachedInput float64 `yaml:"cached_input"`
	CacheWrite  float64 `yaml:"cache_write"`
	Output      float64 `yaml:"output"`
	Reasoning   float64 `yaml:"reasoning"`
}

// AIPrompt is an ai.Prompt in a config file, with its schemas written as
// JSON text.
type AIPrompt struct {
	Name        string        `yaml:"name"`
	Path        string        `yaml:"path"`
	Description string        `yaml:"description"`
	Model       string        `yaml:"model"`
	Messages    []ai.Template `yaml:"messages"`
	// Input and Output are JSON Schemas, as JSON text.
	Input       string   `yaml:"input"`
	Output      string   `yaml:"output"`
	MaxTokens   int      `yaml:"max_tokens"`
	Temperature *float64 `yaml:"temperature"`
}

// WithAI serves the AI endpoints; see [AI].
func WithAI(a AI) Option {
	return optionFunc(func(c *config) { c.ai = &a })
}

// buildAI builds the AI handler, after the authenticators.
func (g *Gateway) buildAI() []error {
	a := g.cfg.ai
	if a == nil {
		return nil
	}
	var errs []error
	client := a.Client
	opts := []ai.Option{ai.WithLogger(g.cfg.logger), ai.WithContent(a.LogContent)}
	if client == nil {
		var cerrs []error
		var aliases []string
		client, aliases, cerrs = a.client(g.aiHTTPClient)
		errs = append(errs, cerrs...)
		errs = append(errs, a.checkPrices()...)
		// /v1/models lists the aliases without asking the providers.
		opts = append(opts, ai.WithModels(aliases...))
	}
	if g.cfg.meter != nil {
		opts = append(opts, ai.WithMeterProvider(g.cfg.meter))
	}
	if a.Prefix != "" {
		opts = append(opts, ai.WithPrefix(a.Prefix))
	}
	if g.cfg.clock != nil {
		opts = append(opts, ai.WithClock(g.cfg.clock))
	}
	opts = append(opts, g.aiStores()...)
	for _, l := range a.Limits {
		opts = append(opts, ai.WithLimit(l))
	}
	for _, b := range a.Budgets {
		opts = append(opts, ai.WithBudget(b))
	}
	for i, p := range a.Prompts {
		at := idx("ai.prompts", i)
		pr := ai.Prompt{Name: p.Name, Path: p.Path, Description: p.Description, Model: p.Model,
			Messages: p.Messages, MaxTokens: p.MaxTokens, Temperature: p.Temperature}
		for field, src := range map[string]string{"input": p.Input, "output": p.Output} {
			if src == "" {
				continue
			}
			if !json.Valid([]byte(src)) {
				errs = append(errs, fieldErr(at+"."+field, "is not JSON; write the JSON Schema as JSON text"))
				continue
			}
			if field == "input" {
				pr.Input = json.RawMessage(src)
			} else {
				pr.Output = json.RawMessage(src)
			}
		}
		opts = append(opts, ai.WithPrompt(pr))
	}
	names := g.aiAuthNames()
	var auths []middleware.Authenticator
	for i, n := range names {
		au, ok := g.auths[n]
		if !ok {
			errs = append(errs, fieldErr(idx("ai.auth", i), "%q is not an authenticator (known: %s)", n, strings.Join(g.authOrder, ", ")))
			continue
		}
		auths = append(auths, au)
	}
	if len(auths) > 0 {
		opts = append(opts, ai.WithAuthenticator(auths...))
	}
	opts = append(opts, a.Options...)
	if len(errs) > 0 || client == nil {
		return errs
	}
	h, err := ai.New(client, opts...)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "portico/ai: ")
		if head, rest, ok := strings.Cut(msg, ": "); ok && !strings.ContainsAny(head, " \"") {
			return append(errs, fieldErr("ai."+head, "%s", rest))
		}
		return append(errs, fieldErr("ai", "%s", msg))
	}
	g.ai = h
	if doc := h.OpenAPI(); doc != nil {
		// The prompt APIs are published with the other APIs' documents.
		spec, err := openapi.Parse(doc)
		if err != nil {
			return append(errs, fieldErr("ai.prompts", "the generated OpenAPI document does not load: %v", err))
		}
		docs, err := openapi.NewDocs(spec)
		if err != nil {
			return append(errs, fieldErr("ai.prompts", "the generated OpenAPI document cannot be served: %v", err))
		}
		for _, a := range g.apis {
			if a.name == PromptAPI {
				return append(errs, fieldErr("ai.prompts", "an API is already named %q, the name of the prompt APIs' document", PromptAPI))
			}
		}
		g.apis = append(g.apis, &api{name: PromptAPI, spec: spec, docs: http.StripPrefix("/apis/"+PromptAPI, docs)})
	}
	return nil
}

// aiStores returns the stores of the AI limits and budgets: the shared
// ones of [WithStores], or the state's, in which each limit and budget
// keeps its own counters while its settings are unchanged (see
// ai.WithStore), across reloads.
func (g *Gateway) aiStores() []ai.Option {
	var opts []ai.Option
	if q := g.cfg.stores.Quotas; q != nil {
		opts = append(opts, ai.WithStore(q), ai.WithFailOpen(!g.cfg.stores.FailClosed))
	} else {
		opts = append(opts, ai.WithStore(keep(g, "ai_counters", func() *middleware.LocalCounters {
			return middleware.NewLocalCounters(g.cfg.clock)
		})))
	}
	if w := g.cfg.stores.Windows; w != nil {
		return append(opts, ai.WithWindowStore(w), ai.WithFailOpen(!g.cfg.stores.FailClosed))
	}
	if g.cfg.stores.Quotas != nil && len(g.cfg.ai.Limits) > 0 && g.cfg.logger != nil {
		g.cfg.logger.Warn("portico/gateway: AI budgets are shared but AI limits count in memory, per replica; " +
			"set Stores.Windows (redisstore.Store.Windows) to share them")
	}
	return append(opts, ai.WithWindowStore(keep(g, "ai_windows", middleware.NewLocalWindows)))
}

// PromptAPI is the name the prompt APIs' OpenAPI document is published
// under, on the admin listener: /apis/prompts/.
const PromptAPI = "prompts"

// client builds the aiclient.Client of the providers and models, each
// provider calling over the client hc gives it.
func (a *AI) client(hc func(AIProvider) *http.Client) (*aiclient.Client, []string, []error) {
	var errs []error
	providers := map[string]aiclient.Provider{}
	dropped := map[string]bool{}
	for i, p := range a.Providers {
		at := idx("ai.providers", i)
		if p.Name == "" {
			errs = append(errs, fieldErr(at+".name", "is required"))
			continue
		}
		if _, dup := providers[p.Name]; dup || dropped[p.Name] {
			errs = append(errs, fieldErr(at+".name", "%q is defined twice", p.Name))
			continue
		}
		if p.Optional && !p.configured() {
			dropped[p.Name] = true
			continue
		}
		tc := p.TransportConfig
		if err := tc.Validate(); err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			errs = append(errs, fieldErr(at+"."+field, "%s", msg))
			continue
		}
		pv, err := p.provider(hc(p))
		if err != nil {
			errs = append(errs, providerErr(at, err))
			continue
		}
		providers[p.Name] = pv
	}
	opts := []aiclient.Option{}
	var aliases []string
	seen := map[string]bool{}
	for i, m := range a.Models {
		at := idx("ai.models", i)
		if m.Alias == "" {
			errs = append(errs, fieldErr(at+".alias", "is required"))
			continue
		}
		if seen[m.Alias] {
			errs = append(errs, fieldErr(at+".alias", "%q is defined twice", m.Alias))
			continue
		}
		seen[m.Alias] = true
		var cands []aiclient.Candidate
		for j, cd := range m.Candidates {
			p, ok := providers[cd.Provider]
			switch {
			case dropped[cd.Provider]:
				continue
			case !ok:
				errs = append(errs, fieldErr(at+"."+idx("candidates", j)+".provider", "%q is not a provider (known: %s)",
					cd.Provider, strings.Join(slices.Sorted(maps.Keys(providers)), ", ")))
				continue
			}
			cands = append(cands, aiclient.Candidate{Provider: p, Model: cd.Model, Priority: cd.Priority, Weight: cd.Weight})
		}
		if len(cands) > 0 {
			opts = append(opts, aiclient.WithRoute(m.Alias, cands...))
			aliases = append(aliases, m.Alias)
		}
	}
	if len(a.Prices) > 0 {
		ps := aiclient.Prices{}
		for model, p := range a.Prices {
			ps[model] = aiclient.Price(p)
		}
		opts = append(opts, aiclient.WithPrices(ps))
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return aiclient.New(opts...), aliases, nil
}

// checkPrices makes sure every budget can count every model: a budget
// covers every call, and a call to a model without a price costs nothing
// by the budget's reckoning. Candidates of optional providers left out
// are checked too, so that setting their key never breaks the build.
func (a *AI) checkPrices() []error {
	if len(a.Budgets) == 0 {
		return nil
	}
	prices := aiclient.Prices{}
	for model, p := range a.Prices {
		prices[model] = aiclient.Price(p)
	}
	var errs []error
	seen := map[string]bool{}
	for i, m := range a.Models {
		for j, cd := range m.Candidates {
			model := cmp.Or(cd.Model, m.Alias)
			if _, ok := prices.Lookup(model); ok || seen[model] || model == "" {
				continue
			}
			seen[model] = true
			errs = append(errs, fieldErr(idx("ai.budgets", 0), "covers model %q (%s.%s) of alias %q, which has no price, so no budget would count its calls: "+
				"add %q to ai.prices (a price of 0 marks it free)", model, idx("ai.models", i), idx("candidates", j), m.Alias, model))
		}
	}
	return errs
}

// provider builds the adapter of p, calling over hc.
func (p AIProvider) provider(hc *http.Client) (aiclient.Provider, error) {
	if pv, ok, err := p.cloud(hc); ok || err != nil {
		return pv, err
	}
	switch p.Type {
	case "openai":
		opts := []openai.Option{openai.WithAPIKey(p.APIKey), openai.WithHTTPClient(hc)}
		if p.BaseURL != "" {
			opts = append(opts, openai.WithBaseURL(p.BaseURL))
		}
		for k, v := range p.Headers {
			opts = append(opts, openai.WithHeader(k, v))
		}
		return openai.New(opts...), nil
	case "anthropic":
		opts := []anthropic.Option{anthropic.WithAPIKey(p.APIKey), anthropic.WithHTTPClient(hc)}
		if p.BaseURL != "" {
			opts = append(opts, anthropic.WithBaseURL(p.BaseURL))
		}
		for k, v := range p.Headers {
			opts = append(opts, anthropic.WithHeader(k, v))
		}
		return anthropic.New(opts...), nil
	case "gemini":
		opts := []gemini.Option{gemini.WithAPIKey(p.APIKey), gemini.WithHTTPClient(hc)}
		if p.BaseURL != "" {
			opts = append(opts, gemini.WithBaseURL(p.BaseURL))
		}
		for k, v := range p.Headers {
			opts = append(opts, gemini.WithHeader(k, v))
		}
		return gemini.New(opts...), nil
	case "ollama":
		opts := []ollama.Option{ollama.WithHTTPClient(hc)}
		if p.APIKey != "" {
			opts = append(opts, ollama.WithAPIKey(p.APIKey))
		}
		if p.BaseURL != "" {
			opts = append(opts, ollama.WithBaseURL(p.BaseURL))
		}
		for k, v := range p.Headers {
			opts = append(opts, ollama.WithHeader(k, v))
		}
		return ollama.New(opts...), nil
	case "demo":
		return demo.New(demo.WithName(p.Name)), nil
	}
	return nil, fmt.Errorf("%q is not a provider type; use openai, anthropic, gemini, ollama, azure, bedrock, vertex or demo", p.Type)
}
