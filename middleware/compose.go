package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/internal/requestid"
)

// ComposeCall is one upstream call of a [Compose] handler.
type ComposeCall struct {
	// Name identifies the call in the partial marker, problem documents
	// and logs. It is required and unique.
	Name string
	// Key is the member of the merged object that holds this call's JSON.
	// If empty, the call must answer a JSON object, whose members are
	// merged into the root (later calls win on a clash).
	Key string
	// URL is the upstream URL, a template like the header templates of
	// [Transform] ("http://users.internal/users/{path.id}"); variable
	// values are path-escaped. Ignored when Request is set.
	URL string
	// Request builds the upstream request from the incoming one, for
	// methods, bodies or headers beyond what URL expresses. Its context is
	// replaced by one bounded by Timeout.
	Request func(r *http.Request) (*http.Request, error)
	// Timeout bounds the call. If zero, only the incoming request's
	// context bounds it.
	Timeout time.Duration
	// Optional leaves a failed call out of the merged body and marks the
	// response partial, instead of failing the whole response with 502.
	Optional bool
}

// ComposeConfig configures [Compose].
type ComposeConfig struct {
	// Calls are made in parallel. At least one is required.
	Calls []ComposeCall
	// Client makes the calls. If nil, a client over http.DefaultTransport
	// is used (plug a resilience transport in here for retries).
	Client *http.Client
	// Header lists the incoming request's header fields copied to every
	// URL-built call, such as "Authorization" or "Accept-Language".
	Header []string
	// PartialHeader is the response header listing the optional calls
	// that failed. If empty, "Portico-Partial".
	PartialHeader string
	// PartialField is the member of the merged body listing the optional
	// calls that failed. If empty, "_partial".
	PartialField string
	// MaxBody is the largest response body read from one call, in bytes;
	// a larger one fails the call. If zero, 4 MiB.
	MaxBody int64
	// Logger receives call failures. If nil, they are discarded.
	Logger *slog.Logger
}

type compose struct {
	calls   []ComposeCall
	urls    []headerTemplate
	client  *http.Client
	header  []string
	pHeader string
	pField  string
	maxBody int64
	log     *slog.Logger
}

type callResult struct {
	body json.RawMessage
	err  error
}

// Compose returns a handler that answers with one JSON object built from
// several upstream calls made in parallel (aggregation): each call's JSON
// goes under its Key, or is merged into the root. When an optional call
// fails (an error, a timeout, a non-2xx status, a body that is not JSON),
// the response is still 200 and carries the names of the failed calls in
// the PartialHeader header and the PartialField member; when a required
// call fails, the other calls are cancelled and the client gets a 502
// problem naming the call (never its URL).
//
// Every call carries the request ID that [RequestID] assigned, in its
// header, replacing any copied from the incoming request.
//
// Compose panics on an invalid configuration, naming the field to fix.
func Compose(cfg ComposeConfig) http.Handler {
	c, err := newCompose(cfg)
	if err != nil {
		panic("portico/middleware: Compose: " + err.Error())
	}
	return c
}

func newCompose(cfg ComposeConfig) (*compose, error) {
	if len(cfg.Calls) == 0 {
		return nil, errors.New("ComposeConfig.Calls is empty")
	}
	c := &compose{
		calls: cfg.Calls, client: cfg.Client, header: cfg.Header,
		pHeader: cfg.PartialHeader, pField: cfg.PartialField, maxBody: cfg.MaxBody, log: cfg.Logger,
	}
	if c.client == nil {
		c.client = &http.Client{}
	}
	if c.pHeader == "" {
		c.pHeader = "Portico-Partial"
	}
	if c.pField == "" {
		c.pField = "_partial"
	}
	if c.maxBody <= 0 {
		c.maxBody = 4 << 20
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	seen := map[string]bool{}
	for i, call := range cfg.Calls {
		switch {
		case call.Name == "" || strings.ContainsAny(call.Name, ", \t\r\n\""):
			return nil, fmt.Errorf("Calls[%d].Name %q must be a non-empty word", i, call.Name)
		case seen[call.Name]:
			return nil, fmt.Errorf("Calls[%d].Name %q is used twice", i, call.Name)
		case call.Request == nil && call.URL == "":
			return nil, fmt.Errorf("Calls[%d].URL: call %s needs a URL or a Request func", i, call.Name)
		case call.Timeout < 0:
			return nil, fmt.Errorf("Calls[%d].Timeout must not be negative", i)
		}
		seen[call.Name] = true
		var tmpl headerTemplate
		if call.Request == nil {
			t, err := parseHeaderTemplate(call.URL, nil)
			if err != nil {
				return nil, fmt.Errorf("Calls[%d].URL: %w", i, err)
			}
			probe := t
			probe.escape = func(string) string { return "x" }
			if _, err := url.Parse(probe.renderStatic()); err != nil {
				return nil, fmt.Errorf("Calls[%d].URL %q is not a valid URL: %w", i, call.URL, err)
			}
			tmpl = t
			tmpl.escape = url.PathEscape
		}
		c.urls = append(c.urls, tmpl)
	}
	return c, nil
}

// renderStatic renders the literal parts with each variable replaced by
// escape(""), to validate a URL template at construction.
func (t headerTemplate) renderStatic() string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.kind == "" {
			b.WriteString(p.literal)
		} else if t.escape != nil {
			b.WriteString(t.escape(""))
		}
	}
	return b.String()
}

// ServeHTTP makes the calls and writes the merged object.
func (c *compose) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	results := make([]callResult, len(c.calls))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstBad = -1 // the first required call that failed
	)
	for i := range c.calls {
		wg.Go(func() {
			body, err := c.call(ctx, r, i)
			results[i] = callResult{body: body, err: err}
			if err != nil && !c.calls[i].Optional {
				mu.Lock()
				if firstBad < 0 {
					firstBad = i
					cancel() // the response has failed: stop the other calls
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if r.Context().Err() != nil {
		return // the client is gone
	}
	if firstBad >= 0 {
		name := c.calls[firstBad].Name
		c.log.LogAttrs(r.Context(), slog.LevelError, "compose call failed",
			slog.String("call", name), slog.String("error", results[firstBad].err.Error()))
		problem.Write(w, r, problem.New(http.StatusBadGateway, "upstream call "+name+" failed").With("call", name))
		return
	}
	merged := map[string]json.RawMessage{}
	var failed []string
	for i, call := range c.calls {
		res := results[i]
		if res.err != nil {
			c.log.LogAttrs(r.Context(), slog.LevelWarn, "optional compose call failed",
				slog.String("call", call.Name), slog.String("error", res.err.Error()))
			failed = append(failed, call.Name)
			continue
		}
		if call.Key != "" {
			merged[call.Key] = res.body
			continue
		}
		var obj map[string]json.RawMessage
		_ = json.Unmarshal(res.body, &obj) // checked in call
		for k, v := range obj {
			merged[k] = v
		}
	}
	if failed != nil {
		list, _ := json.Marshal(failed)
		merged[c.pField] = list
		w.Header().Set(c.pHeader, strings.Join(failed, ", "))
	}
	out, err := json.Marshal(merged)
	if err != nil {
		problem.Error(w, r, http.StatusBadGateway, "the upstream answers could not be merged")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(out)
	}
}

// call makes call i and returns its JSON body.
func (c *compose) call(ctx context.Context, r *http.Request, i int) (json.RawMessage, error) {
	call := c.calls[i]
	if call.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, call.Timeout)
		defer cancel()
	}
	var req *http.Request
	var err error
	if call.Request != nil {
		req, err = call.Request(r)
		if err == nil && req == nil {
			err = errors.New("the Request func returned no request")
		}
		if err != nil {
			return nil, err
		}
		req = req.WithContext(ctx)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.urls[i].render(r, nil), nil)
		if err != nil {
			return nil, err
		}
		for _, h := range c.header {
			if v := r.Header.Values(h); len(v) > 0 {
				req.Header[http.CanonicalHeaderKey(h)] = v
			}
		}
		req.Header.Set("Accept", "application/json")
	}
	if h, id := requestid.HeaderFrom(ctx); id != "" {
		req.Header[h] = []string{id}
	}
	res, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, c.maxBody+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > c.maxBody {
		return nil, fmt.Errorf("body over %d bytes", c.maxBody)
	}
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return nil, errors.New("body is not JSON")
	}
	if call.Key == "" && (len(body) == 0 || body[0] != '{') {
		return nil, errors.New("body is not a JSON object, and the call has no Key")
	}
	return body, nil
}
