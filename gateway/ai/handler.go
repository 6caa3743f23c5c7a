package ai

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/internal/attempts"
	"github.com/portico-dev/portico/internal/requestid"
	"github.com/portico-dev/portico/internal/sse"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/ratelimit"
)

// Handler serves the AI endpoints. It is safe for concurrent use.
type Handler struct {
	client  *aiclient.Client
	cfg     config
	mux     *http.ServeMux
	meters  *meters
	models  []string
	prompts []*prompt
	spec    []byte
	// endpoints are the methods and paths the handler serves.
	endpoints []Endpoint
	// warned holds the unpriced models a budget warning was logged for.
	warned sync.Map
}

// Endpoint is one method and path a [Handler] serves.
type Endpoint struct {
	// Method is GET or POST.
	Method string
	// Path is in http.ServeMux syntax: "/v1/chat/completions", or
	// "/v1/models/{model...}" for every path under "/v1/models/".
	Path string
	// Prompt names the prompt a prompt API serves; empty for the
	// OpenAI- and Anthropic-compatible endpoints.
	Prompt string
}

// New returns a Handler serving client's models. It returns an error that
// names the option at fault for an invalid configuration.
func New(client *aiclient.Client, opts ...Option) (*Handler, error) {
	if client == nil {
		return nil, errors.New("portico/ai: New needs an aiclient.Client")
	}
	cfg := defaults()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.clock == nil {
		cfg.clock = time.Now
	}
	cfg.counters = counterNames(cfg.limits, cfg.budgets)
	if cfg.store == nil {
		cfg.store = ratelimit.NewMemoryCounters(cfg.clock)
	}
	if cfg.windows == nil {
		cfg.windows = ratelimit.NewMemoryWindows()
	}
	if cfg.sink == nil && cfg.logger != nil {
		cfg.sink = LogSink(cfg.logger)
	}
	ms, err := newMeters(cfg.meter, cfg.labels)
	if err != nil {
		return nil, fmt.Errorf("portico/ai: metrics: %w", err)
	}
	h := &Handler{client: client, cfg: cfg, meters: ms, models: slices.Compact(slices.Sorted(slices.Values(cfg.models)))}
	h.mux = http.NewServeMux()
	for _, e := range []struct {
		method, path string
		serve        http.HandlerFunc
	}{
		{http.MethodPost, "/chat/completions", h.chat},
		{http.MethodPost, "/embeddings", h.embeddings},
		{http.MethodGet, "/models", h.listModels},
		{http.MethodGet, "/models/{model...}", h.getModel},
		{http.MethodPost, "/messages", h.messages},
	} {
		h.endpoints = append(h.endpoints, Endpoint{Method: e.method, Path: cfg.prefix + e.path})
		h.mux.HandleFunc(e.method+" "+cfg.prefix+e.path, e.serve)
	}
	if err := h.mountPrompts(); err != nil {
		return nil, err
	}
	h.spec = h.openAPI()
	h.mux.HandleFunc("/", h.notFound)
	return h, nil
}

// validate checks the options New was given.
func (cfg *config) validate() error {
	if cfg.prefix != "" && (!strings.HasPrefix(cfg.prefix, "/") || strings.HasSuffix(cfg.prefix, "/")) {
		return fmt.Errorf("portico/ai: prefix %q must start with / and not end with one, as in /v1", cfg.prefix)
	}
	if cfg.outputGuess <= 0 {
		return errors.New("portico/ai: the output estimate must be positive")
	}
	if cfg.maxBody <= 0 {
		return errors.New("portico/ai: the body limit must be positive")
	}
	for i := range cfg.limits {
		if err := cfg.limits[i].validate(i); err != nil {
			return fmt.Errorf("portico/ai: %w", err)
		}
	}
	for i := range cfg.budgets {
		if err := cfg.budgets[i].validate(i); err != nil {
			return fmt.Errorf("portico/ai: %w", err)
		}
	}
	return nil
}

// mountPrompts compiles the prompts and serves each at its path.
func (h *Handler) mountPrompts() error {
	seen := map[string]bool{}
	for i, p := range h.cfg.prompts {
		cp, err := compilePrompt(i, p)
		if err != nil {
			return fmt.Errorf("portico/ai: %w", err)
		}
		if seen[cp.Path] {
			return fmt.Errorf("portico/ai: prompts[%d].path: %q is used by another prompt", i, cp.Path)
		}
		if slices.Contains(h.endpoints, Endpoint{Method: http.MethodPost, Path: cp.Path}) {
			return fmt.Errorf("portico/ai: prompts[%d].path: %q is an OpenAI- or Anthropic-compatible endpoint; choose another path", i, cp.Path)
		}
		seen[cp.Path] = true
		h.prompts = append(h.prompts, cp)
		h.endpoints = append(h.endpoints, Endpoint{Method: http.MethodPost, Path: cp.Path, Prompt: cp.Name})
		h.mux.HandleFunc("POST "+cp.Path, h.servePrompt(cp))
	}
	return nil
}

// ServeHTTP implements http.Handler. Every answer, errors included,
// carries the request ID (that of the gateway's request ID middleware,
// or one the handler makes when it runs without it) in the headers both
// APIs' clients read: "x-request-id" (OpenAI's SDKs) and "request-id"
// (Anthropic's); Anthropic error bodies carry it as request_id too.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestid.FromContext(r.Context())
	if id == "" {
		id = newRequestID()
		r = r.WithContext(requestid.NewContext(r.Context(), "X-Request-Id", id))
	}
	hd := w.Header()
	if hd.Get("X-Request-Id") == "" {
		hd.Set("X-Request-Id", id)
	}
	hd.Set("Request-Id", id)
	h.mux.ServeHTTP(w, r)
}

// newRequestID returns a random request ID, "req_" and 24 hex digits.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	e := &apiError{status: 404, typ: "invalid_request_error", code: "unknown_url",
		message: "Unknown request URL: " + r.Method + " " + r.URL.Path + "."}
	if strings.HasSuffix(r.URL.Path, "/messages") {
		e.writeAnthropic(w)
		return
	}
	e.writeOpenAI(w)
}

// call is the state of one AI call, from arrival to its record.
type call struct {
	h      *Handler
	ctx    context.Context
	start  time.Time
	caller *middleware.Consumer
	models []string // the aliases caller may use; nil: every alias
	adm    *admission
	att    *attempts.Log
	rec    Record
	cache  *aicache.Call
	guards *guard.Report
	// cacheCall and report are what cache and guards point to, allocated
	// with the call.
	cacheCall aicache.Call
	report    guard.Report
}

// begin authenticates a request and starts its call record.
func (h *Handler) begin(r *http.Request, endpoint string) (*call, *apiError) {
	ctx, att := attempts.NewContext(r.Context())
	c := &call{h: h, ctx: ctx, start: h.cfg.clock(), att: att}
	c.rec = Record{Time: c.start, Endpoint: endpoint, RequestID: requestid.FromContext(r.Context())}
	c.cacheCall.Skip = skipsCache(r.Header)
	c.cache, c.guards = &c.cacheCall, &c.report
	c.ctx = guard.WithReport(aicache.WithCall(c.ctx, c.cache), c.guards)
	caller, err := h.authenticate(r)
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		return c, &apiError{status: 503, typ: "server_error", code: "auth_unavailable", kind: "authentication",
			message: "The gateway cannot check API keys right now. Please retry shortly.", retryAfter: time.Second}
	case err != nil || (caller == nil && len(h.cfg.auths) > 0):
		return c, &apiError{status: 401, typ: "invalid_request_error", code: "invalid_api_key", kind: "authentication",
			message: "Incorrect API key provided. Use a key issued by this gateway."}
	}
	if caller != nil {
		c.cache.Scope = cmp.Or(caller.Tenant, caller.ID)
		c.caller, c.models = caller, modelsOf(caller)
		// Provider wrappers (guardrails, caches) read the caller from
		// the context of the call.
		c.ctx = middleware.WithConsumer(c.ctx, caller)
		c.rec.Consumer, c.rec.Tenant = caller.ID, caller.Tenant
	}
	return c, nil
}

// admit checks that the caller may use alias, and admits the call under
// the limits and budgets with an estimate of in input tokens and at most
// out output tokens.
func (c *call) admit(alias string, in, out int64) *apiError {
	c.rec.Alias = alias
	if alias == "" {
		return &apiError{status: 400, typ: "invalid_request_error", code: "invalid_request", param: "model",
			message: "You must provide a model parameter."}
	}
	if (len(c.h.models) > 0 && !slices.Contains(c.h.models, alias)) || !allows(c.models, alias) {
		return &apiError{status: 404, typ: "invalid_request_error", code: "model_not_found", param: "model",
			message: "The model `" + alias + "` does not exist or you do not have access to it."}
	}
	adm, e := c.h.admit(c.ctx, c.caller, alias, in, out)
	c.adm = adm
	return e
}

// end settles the reservations and emits the record.
func (c *call) end(status int, e *apiError, resp *aiclient.Response) {
	now := c.h.cfg.clock()
	c.rec.Latency = now.Sub(c.start)
	c.rec.Status = status
	if e != nil {
		c.rec.Error = e.kind
		if c.rec.Error == "" {
			c.rec.Error = e.code
		}
	}
	if resp != nil {
		c.rec.Usage = resp.Usage
		if c.rec.Model == "" {
			c.rec.Model = resp.Model
		}
		if cost, ok := c.h.client.Cost(resp); ok {
			c.rec.Cost = cost
		} else {
			c.h.unpriced(c.ctx, resp.Model)
		}
		if c.h.cfg.content && resp.Message.Role != "" {
			m := resp.Message
			c.rec.Output = &m
		}
	}
	c.rec.Provider, c.rec.Fallbacks = c.att.Result()
	for _, f := range c.guards.Findings() {
		c.rec.Guardrails = append(c.rec.Guardrails, Guardrail{Rule: f.Rule, Action: string(f.Action), Kind: f.Kind, Count: f.Count, Output: f.Output})
	}
	c.adm.end(c.ctx, c.h, e, resp, c.rec.Cost)
	if cl := calllog.FromContext(c.ctx); cl != nil {
		// The gateway's own call log gets the AI details too.
		cl.Model = c.rec.Model
		cl.InputTokens, cl.OutputTokens = c.rec.Usage.InputTokens, c.rec.Usage.OutputTokens
		cl.Cost = c.rec.Cost
		if cl.Consumer == "" {
			cl.Consumer, cl.Tenant = c.rec.Consumer, c.rec.Tenant
		}
		if cl.Error == "" {
			cl.Error = c.rec.Error
		}
	}
	ctx := context.WithoutCancel(c.ctx)
	c.h.meters.record(ctx, &c.rec)
	if c.h.cfg.sink != nil {
		c.h.cfg.sink.Record(ctx, &c.rec)
	}
}

// unpriced warns, once per model, that the budgets cannot count a call
// served by a model the client's price table does not know.
func (h *Handler) unpriced(ctx context.Context, model string) {
	if len(h.cfg.budgets) == 0 || h.cfg.logger == nil {
		return
	}
	if _, seen := h.warned.LoadOrStore(model, true); seen {
		return
	}
	h.cfg.logger.WarnContext(ctx, "portico/ai: a model without a price served a call; budgets do not count its cost: add its price (aiclient.WithPrices)",
		"model", model)
}

// readJSON decodes a request body of at most the configured size, with
// its own scanner when it has one.
func (h *Handler) readJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{status: 413, typ: "invalid_request_error", code: "request_too_large",
				message: fmt.Sprintf("The request body exceeds %d bytes.", h.cfg.maxBody)}
		}
		return invalid("", "The request body could not be read.")
	}
	if sc, ok := v.(scannable); ok && sc.scan(body) {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalid("", "We could not parse the JSON body of your request: "+jsonProblem(err))
	}
	if k, ok := v.(keeper); ok {
		k.keep(body)
	}
	return nil
}

// jsonProblem describes a JSON decoding error without echoing the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d.", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%s must not be a JSON %s.", te.Field, te.Value)
		}
		return fmt.Sprintf("a JSON %s is not expected here.", te.Value)
	}
	return err.Error()
}

// outputCap is the most output tokens a call of req reserves: its
// max_tokens, or the output estimate of [WithOutputEstimate].
func (h *Handler) outputCap(req *aiclient.Request) int64 {
	if req.MaxOutputTokens > 0 {
		return int64(req.MaxOutputTokens)
	}
	return h.cfg.outputGuess
}

// Handles reports whether path is one the handler answers: under its
// prefix (an unknown path there gets its clients' 404), or a prompt API's
// path.
func (h *Handler) Handles(path string) bool {
	if p, ok := strings.CutPrefix(path, h.cfg.prefix); ok && (p == "" || p[0] == '/') {
		return true
	}
	for _, p := range h.prompts {
		if p.Path == path {
			return true
		}
	}
	return false
}

// Endpoints lists the methods and paths the handler serves: the OpenAI-
// and Anthropic-compatible endpoints under its prefix, then the prompt
// APIs. A router mounting the handler beside other routes sends it these,
// and may send it any other path under [Handler.Prefix] for an answer in
// its clients' format (404 unknown_url).
func (h *Handler) Endpoints() []Endpoint { return slices.Clone(h.endpoints) }

// Prefix returns the path prefix of the OpenAI- and Anthropic-compatible
// endpoints, such as "/v1"; see [WithPrefix].
func (h *Handler) Prefix() string { return h.cfg.prefix }

// generation is a request body that asks a model to generate: a chat
// completion or an Anthropic message.
type generation interface {
	neutral() (*aiclient.Request, *apiError)
	alias() string
	streamed() bool
}

func (cr *chatRequest) alias() string      { return cr.Model }
func (cr *chatRequest) streamed() bool     { return cr.Stream }
func (mr *messagesRequest) alias() string  { return mr.Model }
func (mr *messagesRequest) streamed() bool { return mr.Stream }

// open starts a generation call: it authenticates the caller, decodes the
// body into g, turns it into a neutral request and admits it under the
// limits and budgets. When a step fails, open answers with fail, ends the
// call record and returns a nil call.
func (h *Handler) open(w http.ResponseWriter, r *http.Request, endpoint string, g generation, fail func(*apiError, http.ResponseWriter)) (*call, *aiclient.Request) {
	c, e := h.begin(r, endpoint)
	if e == nil {
		e = h.readJSON(w, r, g)
	}
	var req *aiclient.Request
	if e == nil {
		req, e = g.neutral()
	}
	if e == nil {
		e = c.admit(g.alias(), guard.EstimateTokens(req), h.outputCap(req))
	}
	if e != nil {
		fail(e, w)
		c.end(e.status, e, nil)
		return nil, nil
	}
	c.rec.Stream = g.streamed()
	if h.cfg.content {
		c.rec.Input = req.Messages
	}
	return c, req
}

// startStream opens a stream for req and, once it is open, answers 200 as
// Server-Sent Events that neither the client nor a proxy in between may
// cache or buffer. The encoder flushes after an event unless the stream
// already holds the next one (see [aiclient.Stream.Buffered]), so events
// that arrive from the provider together leave in one write, and none
// waits for one that has not arrived. If the stream cannot be opened, fail answers in the
// endpoint's error format, the call ends, and startStream returns nil.
func (h *Handler) startStream(w http.ResponseWriter, c *call, req *aiclient.Request, fail func(*apiError)) (*aiclient.Stream, *sse.Encoder) {
	s, err := h.client.Stream(c.ctx, req)
	if err != nil {
		e := fromCall(err)
		fail(e)
		c.end(e.status, e, nil)
		return nil, nil
	}
	c.markCache(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	enc := sse.NewEncoder(w)
	enc.Hold = s.Buffered
	return s, enc
}

// CacheHeader is the response header that marks an answer served from a
// response cache (see the aicache package): "hit", or "semantic" for the
// answer of a similar request. A request with the header set to "off", or
// with Cache-Control: no-cache, skips the lookup.
const CacheHeader = "X-Portico-Cache"

// skipsCache reports whether a request asks not to be answered from a
// cache.
func skipsCache(h http.Header) bool {
	if strings.EqualFold(h.Get(CacheHeader), "off") {
		return true
	}
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			if d = strings.ToLower(strings.TrimSpace(d)); d == "no-cache" || d == "no-store" {
				return true
			}
		}
	}
	return false
}

// markCache marks an answer from a cache in the header and the record.
func (c *call) markCache(w http.ResponseWriter) {
	if !c.cache.Hit {
		return
	}
	c.rec.Cache = "hit"
	if c.cache.Semantic {
		c.rec.Cache = "semantic"
	}
	w.Header().Set(CacheHeader, c.rec.Cache)
}
