package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/portico-dev/portico/aiclient"
)

// EstimateTokens estimates the input tokens of req: a quarter of the
// bytes of its text, tool calls, tools and response schema, plus a few
// per message and 765 per image. The gateway's token limits and budgets
// reserve the same estimate.
func EstimateTokens(req *aiclient.Request) int64 {
	var n int64
	for _, m := range req.Messages {
		n += 4
		for _, p := range m.Parts {
			n += int64(len(p.Text)+3) / 4
			if p.Type == aiclient.PartImage {
				n += 765
			}
		}
		for _, tc := range m.ToolCalls {
			n += int64(len(tc.Name)+len(tc.Arguments)+3) / 4
		}
	}
	for _, t := range req.Tools {
		n += int64(len(t.Name)+len(t.Description)+len(t.Parameters)+3) / 4
	}
	if req.ResponseFormat != nil {
		n += int64(len(req.ResponseFormat.Schema)+3) / 4
	}
	return n
}

// MaxPromptTokens is a [Check] that a request's estimated input (see
// [EstimateTokens]) is at most n tokens.
func MaxPromptTokens(n int64) Check {
	return CheckFunc(func(_ context.Context, req *aiclient.Request) (string, error) {
		if got := EstimateTokens(req); got > n {
			return fmt.Sprintf("the prompt has about %d tokens, more than %d", got, n), nil
		}
		return "", nil
	})
}

// AllowModels is a [Check] that the caller may use the requested model.
// who names the caller of a context (a consumer ID); allowed maps a caller
// to its models, and the key "*" holds the models of callers not listed.
// A caller with no entry and no "*" may use any model.
func AllowModels(who func(context.Context) string, allowed map[string][]string) Check {
	return CheckFunc(func(ctx context.Context, req *aiclient.Request) (string, error) {
		id := who(ctx)
		models, ok := allowed[id]
		if !ok {
			if models, ok = allowed["*"]; !ok {
				return "", nil
			}
		}
		if slices.Contains(models, req.Model) {
			return "", nil
		}
		return fmt.Sprintf("model %q is not allowed for this caller", req.Model), nil
	})
}

// External asks an HTTP service (a moderation or data-loss-prevention
// service) about each request. It POSTs
//
//	{"model": "...", "input": ["text of each message", ...]}
//
// and reads {"flagged": true|false, "reason": "..."} from a 2xx answer.
// Any other answer, a transport error or the timeout is an error, which
// the rule's FailOpen decides.
type External struct {
	// URL is the service's endpoint.
	URL string
	// Header is sent with every call (an API key, for instance).
	Header http.Header
	// Timeout bounds each call. If zero, 2 seconds.
	Timeout time.Duration
	// Client makes the calls. If nil, http.DefaultClient.
	Client *http.Client
}

type externalAnswer struct {
	Flagged bool   `json:"flagged"`
	Reason  string `json:"reason"`
}

// Check implements [Check].
func (e *External) Check(ctx context.Context, req *aiclient.Request) (string, error) {
	if e.URL == "" {
		return "", errors.New("portico/guard: External needs a URL")
	}
	in := make([]string, 0, len(req.Messages))
	for _, m := range req.Messages {
		in = append(in, m.Text())
	}
	body, err := json.Marshal(map[string]any{"model": req.Model, "input": in})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, cmpDuration(e.Timeout, 2*time.Second))
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	for k, vs := range e.Header {
		hreq.Header[k] = vs
	}
	hreq.Header.Set("Content-Type", "application/json")
	client := e.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return "", fmt.Errorf("portico/guard: external check: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return "", fmt.Errorf("portico/guard: external check answered %d", resp.StatusCode)
	}
	var a externalAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a); err != nil {
		return "", fmt.Errorf("portico/guard: external check: %w", err)
	}
	if !a.Flagged {
		return "", nil
	}
	if a.Reason == "" {
		a.Reason = "flagged by the external check"
	}
	return a.Reason, nil
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
