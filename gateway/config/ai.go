package config

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/demo"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/ollama"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
	"github.com/portico-dev/portico/middleware/redisstore"
	"github.com/portico-dev/portico/openapi"
)

// AI mounts the AI endpoints of package gateway/ai beside the routes: the
// OpenAI-compatible API and Anthropic's Messages API under Prefix, and the
// prompt APIs at their paths, inside the global chain. Callers
// authenticate with the gateway's consumers (their API keys, or the
// authenticators Auth names); limits count in the gateway's window store
// and budgets in its quota store (see gateway.Stores), so replicas sharing
// Redis share them, and both survive reloads.
//
// The endpoints are routes of the gateway's table (see gateway.Endpoint): a route overlapping one is a build error,
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
	// MetricLabels bounds the tenant and consumer labels of the
	// portico.ai.* metrics: metric_labels: {tenants: 200, consumers: 0}
	// are the defaults (the first 200 tenants each labelled, the others
	// as "_other"; no consumer label). See ai.MetricLabels.
	MetricLabels ai.MetricLabels `yaml:"metric_labels"`

	// Client serves the calls instead of Providers, Models and Prices,
	// for builder users who build their own.
	Client *aiclient.Client `yaml:"-"`
	// Options are added to the handler's options, for builder users.
	Options []ai.Option `yaml:"-"`
	// Redis keeps the caches whose store is redis (see [AICache]); a
	// config file sets it to its store section's Redis.
	Redis *redisstore.Store `yaml:"-"`
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
	// MaxRetryWait is the longest the provider's client waits before
	// retrying a call: a 429 or 503 whose Retry-After asks for longer is
	// answered to the caller at once, with the provider's Retry-After
	// and rate-limit headers, unless another candidate of the alias can
	// serve it. By default, 1 s. It does not apply to type demo.
	MaxRetryWait time.Duration `yaml:"max_retry_wait"`
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
	// Guardrails run, in order, on every call of the alias; see
	// [AIGuardrail].
	Guardrails []AIGuardrail `yaml:"guardrails"`
	// Cache answers repeated calls of the alias; see [AICache].
	Cache *AICache `yaml:"cache"`
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
func WithAI(a AI) gateway.Option {
	return gateway.WithPart(&aiPart{a: a})
}

// aiPart mounts the AI endpoints.
type aiPart struct{ a AI }

func (p *aiPart) Prepare(*gateway.Builder) error { return nil }

func (p *aiPart) Mount(b *gateway.Builder) error {
	h, errs := p.handler(b)
	if len(errs) == 0 && h != nil {
		errs = p.mount(b, h)
	}
	if len(errs) > 0 {
		return joinErrs(errs)
	}
	return nil
}

// handler builds the AI handler, after the authenticators.
func (p *aiPart) handler(b *gateway.Builder) (*ai.Handler, []error) {
	a := &p.a
	errs := newErrors()
	client := a.Client
	opts := []ai.Option{ai.WithLogger(b.Logger()), ai.WithContent(a.LogContent), ai.WithMetricLabels(a.MetricLabels)}
	if client == nil {
		var aliases []string
		client, aliases = p.fileClient(b, errs)
		// /v1/models lists the aliases without asking the providers.
		opts = append(opts, ai.WithModels(aliases...))
	}
	if mp := b.MeterProvider(); mp != nil {
		opts = append(opts, ai.WithMeterProvider(mp))
	}
	if a.Prefix != "" {
		opts = append(opts, ai.WithPrefix(a.Prefix))
	}
	if clock := b.Clock(); clock != nil {
		opts = append(opts, ai.WithClock(clock))
	}
	stores, err := p.stores(b)
	if err != nil {
		errs.Add(err)
		return nil, errs.Errors()
	}
	opts = append(opts, stores...)
	for _, l := range a.Limits {
		opts = append(opts, ai.WithLimit(l))
	}
	for _, b := range a.Budgets {
		opts = append(opts, ai.WithBudget(b))
	}
	opts = append(opts, promptOptions(errs.At("ai"), a.Prompts)...)
	opts = append(opts, p.authOptions(b, errs)...)
	opts = append(opts, a.Options...)
	if errs.Len() > 0 || client == nil {
		return nil, errs.Errors()
	}
	h, err := ai.New(client, opts...)
	if err != nil {
		errs.Add(pathErr("ai", err))
		return nil, errs.Errors()
	}
	return h, nil
}

// fileClient builds the AI client the section's providers describe and
// returns it with the model aliases it serves.
func (p *aiPart) fileClient(b *gateway.Builder, errs fields.Collector) (*aiclient.Client, []string) {
	a := &p.a
	// The provider calls' spans and gen_ai.client.* metrics go where
	// the gateway's do.
	var tel []aiclient.Option
	if tp := b.TracerProvider(); tp != nil {
		tel = append(tel, aiclient.WithTracerProvider(tp))
	}
	if mp := b.MeterProvider(); mp != nil {
		tel = append(tel, aiclient.WithMeterProvider(mp))
	}
	client, aliases, cerrs := a.client(aiHTTPClient(b), tel, func(key string, mk func() any) any {
		v, err := b.Keep(key, func() (any, error) { return mk(), nil })
		if err != nil {
			return mk()
		}
		return v
	})
	errs.Add(cerrs...)
	errs.Add(a.checkPrices()...)
	return client, aliases
}

// promptOptions checks the prompts and returns an option for each.
func promptOptions(errs fields.Collector, prompts []AIPrompt) []ai.Option {
	var opts []ai.Option
	for i, p := range prompts {
		at := errs.At(fields.Index("prompts", i))
		pr := ai.Prompt{Name: p.Name, Path: p.Path, Description: p.Description, Model: p.Model,
			Messages: p.Messages, MaxTokens: p.MaxTokens, Temperature: p.Temperature}
		for field, src := range map[string]string{"input": p.Input, "output": p.Output} {
			if src == "" {
				continue
			}
			if !json.Valid([]byte(src)) {
				at.Addf(field, "is not JSON; write the JSON Schema as JSON text")
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
	return opts
}

// authOptions checks the authenticators the AI endpoints use and returns
// the option that sets them, if any.
func (p *aiPart) authOptions(b *gateway.Builder, errs fields.Collector) []ai.Option {
	var auths []auth.Authenticator
	for i, n := range p.authNames(b) {
		au, ok := b.Authenticator(n)
		if !ok {
			errs.Addf(fields.Index("ai.auth", i), "%q is not an authenticator (known: %s)", n, strings.Join(b.Authenticators(), ", "))
			continue
		}
		auths = append(auths, au)
	}
	if len(auths) == 0 {
		return nil
	}
	return []ai.Option{ai.WithAuthenticator(auths...)}
}

// stores returns the stores of the AI limits and budgets: the shared ones
// of gateway.WithStores, or the state's, in which each limit and budget
// keeps its own counters while its settings are unchanged (see
// ai.WithStore), across reloads.
func (p *aiPart) stores(b *gateway.Builder) ([]ai.Option, error) {
	var opts []ai.Option
	st := b.Stores()
	if q := st.Quotas; q != nil {
		opts = append(opts, ai.WithStore(q), ai.WithFailOpen(!st.FailClosed))
	} else {
		counters, err := b.Keep("ai_counters", func() (any, error) { return ratelimit.NewMemoryCounters(b.Clock()), nil })
		if err != nil {
			return nil, err
		}
		opts = append(opts, ai.WithStore(counters.(*ratelimit.MemoryCounters)))
	}
	if w := st.Windows; w != nil {
		return append(opts, ai.WithWindowStore(w), ai.WithFailOpen(!st.FailClosed)), nil
	}
	if st.Quotas != nil && len(p.a.Limits) > 0 && b.Logger() != nil {
		b.Logger().Warn("portico/gateway: AI budgets are shared but AI limits count in memory, per replica; " +
			"set Stores.Windows (redisstore.Store.Windows) to share them")
	}
	windows, err := b.Keep("ai_windows", func() (any, error) { return ratelimit.NewMemoryWindows(), nil })
	if err != nil {
		return nil, err
	}
	return append(opts, ai.WithWindowStore(windows.(*ratelimit.MemoryWindows))), nil
}

// authNames names the authenticators the AI endpoints try.
func (p *aiPart) authNames(b *gateway.Builder) []string {
	if len(p.a.Auth) > 0 {
		return p.a.Auth
	}
	return b.Authenticators()
}

// mount adds the AI endpoints and prompt APIs to the route table, and
// publishes the prompt APIs' document with the other APIs' documents.
func (p *aiPart) mount(b *gateway.Builder, h *ai.Handler) []error {
	chain := []string{"ai"}
	if names := p.authNames(b); len(names) > 0 {
		chain = []string{"ai(auth: " + strings.Join(names, ", ") + ")"}
	}
	prompts := 0
	for _, e := range h.Endpoints() {
		// ServeMux's {name...} is chi's catch-all.
		path := e.Path
		if i := strings.LastIndex(path, "/{"); i >= 0 && strings.HasSuffix(path, "...}") {
			path = path[:i] + "/*"
		}
		ep := gateway.Endpoint{Kind: "ai", Label: "the AI endpoint", Name: "ai " + e.Method + " " + path,
			Method: e.Method, Path: path, At: "ai.prefix", Chain: chain, Handler: h}
		if e.Prompt != "" {
			ep.Kind, ep.Label, ep.Name = "prompt", "the prompt API", "prompt "+e.Prompt
			ep.Chain = []string{"prompt(" + e.Prompt + ")"}
			ep.At = "ai.options"
			if prompts < len(p.a.Prompts) {
				ep.At = fields.Index("ai.prompts", prompts) + ".path"
			}
			prompts++
		}
		b.Endpoint(ep)
	}
	// OpenAI's and Anthropic's clients expect their own 404.
	b.NotFound(h.Prefix(), h)
	doc := h.OpenAPI()
	if doc == nil {
		return nil
	}
	spec, err := openapi.Parse(doc)
	if err != nil {
		return []error{fieldErr("ai.prompts", "the generated OpenAPI document does not load: %v", err)}
	}
	if err := publish(b, PromptAPI, spec); err != nil {
		return []error{fieldErr("ai.prompts", "%v", err)}
	}
	return nil
}

// PromptAPI is the name the prompt APIs' OpenAPI document is published
// under, on the admin listener: /apis/prompts/.
const PromptAPI = "prompts"

// providers builds the configured providers by name; dropped names the
// optional ones left out because their settings are missing.
func (a *AI) providers(hc func(AIProvider) *http.Client) (providers map[string]aiclient.Provider, dropped map[string]bool, errs []error) {
	providers = map[string]aiclient.Provider{}
	dropped = map[string]bool{}
	for i, p := range a.Providers {
		at := fields.Index("ai.providers", i)
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
	return providers, dropped, errs
}

// client builds the aiclient.Client of the providers and models, each
// provider calling over the client hc gives it, with the telemetry
// options tel (the gateway's tracer and meter providers).
func (a *AI) client(hc func(AIProvider) *http.Client, tel []aiclient.Option, keep func(string, func() any) any) (*aiclient.Client, []string, []error) {
	providers, dropped, errs := a.providers(hc)
	opts := []aiclient.Option{}
	var aliases []string
	seen := map[string]bool{}
	env := a.cacheEnv(keep)
	for i, m := range a.Models {
		at := fields.Index("ai.models", i)
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
				errs = append(errs, fieldErr(at+"."+fields.Index("candidates", j)+".provider", "%q is not a provider (known: %s)",
					cd.Provider, strings.Join(slices.Sorted(maps.Keys(providers)), ", ")))
				continue
			}
			p, gerrs := m.guarded(at, p, http.DefaultClient, env)
			if len(gerrs) > 0 {
				errs = append(errs, gerrs...)
				break
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
	return env.bind(aiclient.New(append(opts, tel...)...)), aliases, nil
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
			errs = append(errs, fieldErr(fields.Index("ai.budgets", 0), "covers model %q (%s.%s) of alias %q, which has no price, so no budget would count its calls: "+
				"add %q to ai.prices (a price of 0 marks it free)", model, fields.Index("ai.models", i), fields.Index("candidates", j), m.Alias, model))
		}
	}
	return errs
}

// shared appends the options every adapter takes alike, each in its own
// Option type: the base URL, extra headers and the longest wait before a
// retry, where p sets them.
func shared[O any](p AIProvider, opts []O, base func(string) O, header func(string, string) O, wait func(time.Duration) O) []O {
	if p.BaseURL != "" {
		opts = append(opts, base(p.BaseURL))
	}
	for k, v := range p.Headers {
		opts = append(opts, header(k, v))
	}
	if p.MaxRetryWait > 0 {
		opts = append(opts, wait(p.MaxRetryWait))
	}
	return opts
}

// provider builds the adapter of p, calling over hc.
func (p AIProvider) provider(hc *http.Client) (aiclient.Provider, error) {
	if p.MaxRetryWait < 0 {
		return nil, fieldErr("max_retry_wait", "must not be negative, got %v", p.MaxRetryWait)
	}
	if pv, ok, err := p.cloud(hc); ok || err != nil {
		return pv, err
	}
	switch p.Type {
	case "openai":
		opts := []openai.Option{openai.WithAPIKey(p.APIKey), openai.WithHTTPClient(hc)}
		opts = shared(p, opts, openai.WithBaseURL, openai.WithHeader, openai.WithMaxRetryWait)
		return openai.New(opts...), nil
	case "anthropic":
		opts := []anthropic.Option{anthropic.WithAPIKey(p.APIKey), anthropic.WithHTTPClient(hc)}
		opts = shared(p, opts, anthropic.WithBaseURL, anthropic.WithHeader, anthropic.WithMaxRetryWait)
		return anthropic.New(opts...), nil
	case "gemini":
		opts := []gemini.Option{gemini.WithAPIKey(p.APIKey), gemini.WithHTTPClient(hc)}
		opts = shared(p, opts, gemini.WithBaseURL, gemini.WithHeader, gemini.WithMaxRetryWait)
		return gemini.New(opts...), nil
	case "ollama":
		opts := []ollama.Option{ollama.WithHTTPClient(hc)}
		if p.APIKey != "" {
			opts = append(opts, ollama.WithAPIKey(p.APIKey))
		}
		opts = shared(p, opts, ollama.WithBaseURL, ollama.WithHeader, ollama.WithMaxRetryWait)
		return ollama.New(opts...), nil
	case "demo":
		return demo.New(demo.WithName(p.Name)), nil
	}
	return nil, fmt.Errorf("%q is not a provider type; use openai, anthropic, gemini, ollama, azure, bedrock, vertex or demo", p.Type)
}
