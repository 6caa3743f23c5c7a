package gemini

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

type generateResponse struct {
	Candidates []struct {
		Content        content         `json:"content"`
		FinishReason   string          `json:"finishReason"`
		LogprobsResult *logprobsResult `json:"logprobsResult"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata *usageMetadata `json:"usageMetadata"`
	ModelVersion  string         `json:"modelVersion"`
	ResponseID    string         `json:"responseId"`
	CreateTime    time.Time      `json:"createTime"`
	Error         *apiError      `json:"error"`
}

type usageMetadata struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount"`
	TotalTokenCount         int64 `json:"totalTokenCount"`
}

// neutral maps Gemini's usage: promptTokenCount includes the cached
// tokens; candidatesTokenCount excludes thoughts, which count as output.
func (u *usageMetadata) neutral() aiclient.Usage {
	return aiclient.Usage{
		InputTokens:     u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CacheReadTokens: u.CachedContentTokenCount,
		OutputTokens:    u.CandidatesTokenCount + u.ThoughtsTokenCount,
		ReasoningTokens: u.ThoughtsTokenCount,
	}
}

// FinishReason normalises a Gemini finishReason; calls reports whether
// the response holds function calls (Gemini says STOP for those).
func FinishReason(raw string, calls bool) aiclient.FinishReason {
	switch raw {
	case "STOP", "FINISH_REASON_UNSPECIFIED", "":
		if calls {
			return aiclient.FinishToolCalls
		}
		return aiclient.FinishStop
	case "MAX_TOKENS":
		return aiclient.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE":
		return aiclient.FinishContentFilter
	}
	return aiclient.FinishError
}

// Chat sends a generateContent request.
func (p *Provider) Chat(ctx context.Context, req *aiclient.Request) (*aiclient.Response, error) {
	body, err := p.EncodeRequest(req)
	if err != nil {
		return nil, err
	}
	res, err := p.post(ctx, req.Model, p.url(req.Model, "generateContent"), body)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if err := wire.Decode(p.cfg.Provider, req.Model, res, &raw); err != nil {
		return nil, err
	}
	return p.DecodeResponse(req.Model, raw)
}

// DecodeResponse turns a generateContent response body into a Response.
func (p *Provider) DecodeResponse(model string, body []byte) (*aiclient.Response, error) {
	var acc aiclient.Accumulator
	st := &state{}
	if err := st.chunk(p, model, body, &acc, true); err != nil {
		return nil, err
	}
	return acc.Response(), nil
}

// state carries what a stream's chunks share.
type state struct {
	calls    int
	started  bool
	finished bool
	blocked  bool // the prompt was blocked: no candidates
	usage    *usageMetadata
	raw      string
}

type adder interface{ Add(aiclient.Event) }

// chunk decodes one response (a whole one, or one stream chunk) into
// events. With last, the finish and usage events are added too.
func (st *state) chunk(p *Provider, model string, data []byte, out adder, last bool) error {
	var w generateResponse
	if err := json.Unmarshal(data, &w); err != nil {
		return &aiclient.Error{Provider: p.cfg.Provider, Model: model, Status: http.StatusOK, Kind: aiclient.KindServer,
			Code: "invalid_response", Message: "a response is not valid JSON", Retryable: true, Err: err}
	}
	if w.Error != nil {
		e := w.Error.toError(http.StatusOK)
		e.Provider, e.Model, e.Message = p.cfg.Provider, model, p.cfg.Redact(e.Message)
		return e.WithKind(e.Kind)
	}
	if !st.started {
		st.started = true
		out.Add(aiclient.Event{Type: aiclient.EventStart, ID: w.ResponseID, Model: w.ModelVersion, Created: w.CreateTime})
	}
	if w.PromptFeedback != nil && w.PromptFeedback.BlockReason != "" && len(w.Candidates) == 0 {
		st.finished, st.blocked, st.raw = true, true, w.PromptFeedback.BlockReason
	}
	if len(w.Candidates) > 0 {
		c := w.Candidates[0]
		for _, pt := range c.Content.Parts {
			switch {
			case pt.FunctionCall != nil:
				id := pt.FunctionCall.ID
				if id == "" {
					id = "call_" + strconv.Itoa(st.calls)
				}
				args := string(pt.FunctionCall.Args)
				out.Add(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{
					Index: st.calls, ID: id, Name: pt.FunctionCall.Name, Arguments: args, Signature: pt.ThoughtSignature}})
				st.calls++
			case pt.Thought:
				out.Add(aiclient.Event{Type: aiclient.EventReasoning, Text: pt.Text, Signature: pt.ThoughtSignature})
			case pt.Text != "" || pt.ThoughtSignature != "":
				out.Add(aiclient.Event{Type: aiclient.EventText, Text: pt.Text, Signature: pt.ThoughtSignature})
			}
		}
		if lp := c.LogprobsResult.neutral(); len(lp) > 0 {
			out.Add(aiclient.Event{Type: aiclient.EventText, Logprobs: lp})
		}
		if c.FinishReason != "" {
			st.finished, st.raw = true, c.FinishReason
		}
	}
	if w.UsageMetadata != nil {
		st.usage = w.UsageMetadata
	}
	if last {
		st.end(out)
	}
	return nil
}

// end adds the finish reason and the usage of the last chunk.
func (st *state) end(out adder) {
	if st.finished {
		reason := FinishReason(st.raw, st.calls > 0)
		if st.blocked {
			reason = aiclient.FinishContentFilter
		}
		out.Add(aiclient.Event{Type: aiclient.EventFinish, FinishReason: reason, RawFinishReason: st.raw})
	}
	if st.usage != nil {
		out.Add(aiclient.Event{Type: aiclient.EventUsage, Usage: st.usage.neutral()})
	}
}

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []struct {
		Type       string `json:"@type"`
		RetryDelay string `json:"retryDelay"`
		Reason     string `json:"reason"`
	} `json:"details"`
}

func (a *apiError) toError(status int) *aiclient.Error {
	e := &aiclient.Error{Status: status, Code: a.Status, Message: a.Message}
	reason := ""
	for _, d := range a.Details {
		if strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
			if dur, err := time.ParseDuration(d.RetryDelay); err == nil {
				e.RetryAfter = dur
			}
		}
		if d.Reason != "" {
			reason = d.Reason
		}
	}
	switch {
	case reason == "API_KEY_INVALID" || a.Status == "UNAUTHENTICATED":
		e.Kind = aiclient.KindAuthentication
	case a.Status == "PERMISSION_DENIED":
		e.Kind = aiclient.KindPermission
	case a.Status == "NOT_FOUND":
		e.Kind = aiclient.KindNotFound
	case a.Status == "RESOURCE_EXHAUSTED":
		e.Kind = aiclient.KindRateLimited
	case a.Status == "INVALID_ARGUMENT" && strings.Contains(a.Message, "token count"):
		e.Kind = aiclient.KindContextLength
	case a.Status == "INVALID_ARGUMENT" || a.Status == "FAILED_PRECONDITION":
		e.Kind = aiclient.KindInvalidRequest
	case a.Status == "UNAVAILABLE":
		e.Kind = aiclient.KindOverloaded
	case a.Status == "DEADLINE_EXCEEDED":
		e.Kind = aiclient.KindTimeout
	case a.Status == "INTERNAL" || status == http.StatusOK:
		e.Kind = aiclient.KindServer
	default:
		e.Kind = aiclient.KindFromStatus(status)
	}
	return e
}

// retryInfo returns the RetryInfo delay of an error body, so the retry
// policy can honour it.
func retryInfo(body []byte) time.Duration {
	if e := decodeError(&http.Response{StatusCode: http.StatusTooManyRequests}, body); e != nil {
		return e.RetryAfter
	}
	return 0
}

func decodeError(res *http.Response, body []byte) *aiclient.Error {
	// Errors come as an object, or as a one-element array from some
	// streaming endpoints.
	var w struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(body, &w) != nil {
		var arr []struct {
			Error *apiError `json:"error"`
		}
		_ = json.Unmarshal(body, &arr) // anything else gives nil
		if len(arr) > 0 {
			w.Error = arr[0].Error
		}
	}
	if w.Error == nil {
		return nil
	}
	return w.Error.toError(res.StatusCode)
}

// DecodeError reads a Google API error body, as the Gemini API and Vertex
// AI answer with, for a response of the given status; it returns nil
// when the body holds no error object.
func DecodeError(status int, body []byte) *aiclient.Error {
	return decodeError(&http.Response{StatusCode: status}, body)
}

// logprobsResult is Gemini's log probabilities of the chosen tokens, and
// of the top candidates at each step.
type logprobsResult struct {
	TopCandidates []struct {
		Candidates []logprobCandidate `json:"candidates"`
	} `json:"topCandidates"`
	ChosenCandidates []logprobCandidate `json:"chosenCandidates"`
}

type logprobCandidate struct {
	Token          string  `json:"token"`
	LogProbability float64 `json:"logProbability"`
}

// neutral maps the result onto OpenAI's shape, with each token's UTF-8
// bytes.
func (r *logprobsResult) neutral() []aiclient.Logprob {
	if r == nil {
		return nil
	}
	out := make([]aiclient.Logprob, len(r.ChosenCandidates))
	for i, c := range r.ChosenCandidates {
		out[i] = aiclient.Logprob{Token: c.Token, Logprob: c.LogProbability, Bytes: utf8Bytes(c.Token), TopLogprobs: []aiclient.TopLogprob{}}
		if i < len(r.TopCandidates) {
			for _, t := range r.TopCandidates[i].Candidates {
				out[i].TopLogprobs = append(out[i].TopLogprobs, aiclient.TopLogprob{Token: t.Token, Logprob: t.LogProbability, Bytes: utf8Bytes(t.Token)})
			}
		}
	}
	return out
}

func utf8Bytes(s string) []int {
	b := make([]int, len(s))
	for i := range len(s) {
		b[i] = int(s[i])
	}
	return b
}
