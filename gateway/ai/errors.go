package ai

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/resilience"
)

// apiError is an error answered to a client, in whichever wire format it
// speaks. Its message never holds a provider's credentials or address.
type apiError struct {
	status     int
	typ        string // OpenAI's error type
	code       string // OpenAI's error code
	param      string
	message    string
	retryAfter time.Duration
	kind       string // for call records
	// header holds the provider's rate-limit headers, passed on as the
	// provider sent them (see aiclient.RateLimitHeader).
	header http.Header
}

func invalid(param, msg string) *apiError {
	return &apiError{status: 400, typ: "invalid_request_error", code: "invalid_request", param: param, message: msg}
}

// fromCall maps a failed provider call onto the error answered to the
// client. Only the messages of errors about the request itself are passed
// on; the others get a fixed text, so no upstream detail leaks.
func fromCall(err error) *apiError {
	if errors.Is(err, context.Canceled) {
		return &apiError{status: resilience.StatusClientClosedRequest, typ: "invalid_request_error", code: "canceled", message: "The request was canceled.", kind: "canceled"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &apiError{status: 504, typ: "server_error", code: "timeout", message: "The model did not answer in time.", kind: string(aiclient.KindTimeout)}
	}
	if _, ok := guard.IsBlocked(err); ok {
		// A guardrail refused the call: its message names the rule,
		// never the value found.
		var e *aiclient.Error
		msg := "The request was blocked by a guardrail."
		if errors.As(err, &e) {
			msg = e.Message
		}
		return &apiError{status: 400, typ: "invalid_request_error", code: guard.CodeBlocked, message: msg, kind: "guardrail"}
	}
	var e *aiclient.Error
	if !errors.As(err, &e) {
		return &apiError{status: 502, typ: "server_error", code: "upstream_error", message: "The model provider failed.", kind: string(aiclient.KindServer)}
	}
	a := &apiError{kind: string(e.Kind), retryAfter: e.RetryAfter, header: e.Header}
	if e.Code == "circuit_open" {
		// The gateway stopped calling a provider that kept failing: an
		// upstream error for the cooling-off time, not an overload.
		a.status, a.typ, a.code, a.message = 503, "server_error", "upstream_unavailable", "The model provider keeps failing; the gateway stopped calling it for a while. Please retry after the delay in Retry-After."
		return a
	}
	switch e.Kind {
	case aiclient.KindInvalidRequest:
		a.status, a.typ, a.code, a.message = 400, "invalid_request_error", "invalid_request", "The model provider refused the request: "+e.Message
		if e.Code == "unsupported_parameter" && e.Param != "" {
			a.code, a.param = "unsupported_parameter", e.Param
		}
	case aiclient.KindContextLength:
		a.status, a.typ, a.code, a.message = 400, "invalid_request_error", "context_length_exceeded", "The messages exceed the model's context length: "+e.Message
	case aiclient.KindContentFiltered:
		a.status, a.typ, a.code, a.message = 400, "invalid_request_error", "content_filter", "The request was rejected by the provider's content filter."
	case aiclient.KindNotFound:
		a.status, a.typ, a.code, a.message = 404, "invalid_request_error", "model_not_found", "The model `"+e.Model+"` does not exist or you do not have access to it."
	case aiclient.KindRateLimited:
		a.status, a.typ, a.code, a.message = 429, "requests", "rate_limit_exceeded", "The model provider is rate limiting the gateway. Please retry after the delay in Retry-After."
	case aiclient.KindQuotaExhausted:
		a.status, a.typ, a.code, a.message = 429, "insufficient_quota", "insufficient_quota", "The gateway's quota with the model provider is exhausted."
	case aiclient.KindOverloaded:
		a.status, a.typ, a.code, a.message = 503, "server_error", "overloaded", "The model is overloaded. Please retry."
	case aiclient.KindTimeout:
		a.status, a.typ, a.code, a.message = 504, "server_error", "timeout", "The model did not answer in time."
	case aiclient.KindAuthentication, aiclient.KindPermission:
		// The gateway's own provider credentials failed: the caller can do
		// nothing about it, and must not learn more.
		a.status, a.typ, a.code, a.message = 502, "server_error", "upstream_error", "The gateway could not authenticate with the model provider."
	default:
		a.status, a.typ, a.code, a.message = 502, "server_error", "upstream_error", "The model provider failed."
	}
	if a.status == 429 && a.retryAfter == 0 {
		a.retryAfter = time.Second
	}
	return a
}

// retryHeader passes on the provider's rate-limit headers, and sets
// Retry-After in whole seconds, rounded up.
func (e *apiError) retryHeader(w http.ResponseWriter) {
	for k, vs := range e.header {
		w.Header()[k] = vs
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(e.retryAfter.Seconds())), 10))
		w.Header().Set("Retry-After-Ms", strconv.FormatInt(e.retryAfter.Milliseconds(), 10))
	}
}

// openAIBody is OpenAI's error envelope.
type openAIBody struct {
	Error openAIError `json:"error"`
}

type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) openAI() openAIBody {
	b := openAIBody{Error: openAIError{Message: e.message, Type: e.typ}}
	if e.param != "" {
		b.Error.Param = &e.param
	}
	if e.code != "" {
		b.Error.Code = &e.code
	}
	return b
}

// writeOpenAI answers e in OpenAI's format.
func (e *apiError) writeOpenAI(w http.ResponseWriter) {
	e.retryHeader(w)
	writeJSON(w, e.status, e.openAI())
}

// anthropicType is the Anthropic error type for e's status.
func (e *apiError) anthropicType() (int, string) {
	switch e.status {
	case 400:
		return 400, "invalid_request_error"
	case 401:
		return 401, "authentication_error"
	case 403:
		return 403, "permission_error"
	case 404:
		return 404, "not_found_error"
	case 413:
		return 413, "request_too_large"
	case 429:
		return 429, "rate_limit_error"
	case 503:
		if e.code == "overloaded" {
			return 529, "overloaded_error"
		}
		return 503, "api_error"
	case 504:
		return 504, "timeout_error"
	}
	return e.status, "api_error"
}

type anthropicBody struct {
	Type      string         `json:"type"`
	Error     anthropicError `json:"error"`
	RequestID string         `json:"request_id,omitempty"`
}

type anthropicError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func (e *apiError) anthropic() (int, anthropicBody) {
	status, typ := e.anthropicType()
	return status, anthropicBody{Type: "error", Error: anthropicError{Type: typ, Message: e.message}}
}

// writeAnthropic answers e in Anthropic's format, with the request ID
// the handler put in the headers (see [Handler.ServeHTTP]).
func (e *apiError) writeAnthropic(w http.ResponseWriter) {
	e.retryHeader(w)
	status, body := e.anthropic()
	body.RequestID = w.Header().Get("Request-Id")
	writeJSON(w, status, body)
}

// writeProblem answers e as an RFC 9457 problem, for prompt APIs.
func (e *apiError) writeProblem(w http.ResponseWriter, r *http.Request) {
	e.retryHeader(w)
	p := problem.New(e.status, e.message)
	if e.code != "" {
		p = p.With("code", e.code)
	}
	problem.Write(w, r, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = 500
		b = []byte(`{"error":{"message":"The gateway failed to encode the response.","type":"server_error","param":null,"code":null}}`)
	}
	writeBody(w, status, b)
}

// writeBody answers with b, encoded JSON, and a line break.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
