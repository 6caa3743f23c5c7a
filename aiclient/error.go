package aiclient

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind is the normalised category of an [Error].
type Kind string

// The error kinds.
const (
	KindAuthentication  Kind = "authentication"
	KindPermission      Kind = "permission"
	KindNotFound        Kind = "not_found"
	KindRateLimited     Kind = "rate_limited"
	KindQuotaExhausted  Kind = "quota_exhausted"
	KindContextLength   Kind = "context_length_exceeded"
	KindInvalidRequest  Kind = "invalid_request"
	KindContentFiltered Kind = "content_filtered"
	KindOverloaded      Kind = "overloaded"
	KindServer          Kind = "server_error"
	KindTimeout         Kind = "timeout"
)

// Error is every error a provider call returns, read with errors.As:
//
//	var e *aiclient.Error
//	if errors.As(err, &e) && e.Kind == aiclient.KindRateLimited { ... e.RetryAfter ... }
//
// It never holds a credential: adapters redact their API key from
// provider messages.
type Error struct {
	// Provider is the provider's name, such as "openai".
	Provider string
	// Model is the model requested, when known.
	Model string
	// Status is the HTTP status, or 200 for an error reported inside a
	// stream, or 0 when no response arrived.
	Status int
	// Kind is the normalised category.
	Kind Kind
	// Code is the provider's error code or type, such as
	// "rate_limit_exceeded" or "overloaded_error".
	Code string
	// Message is the provider's message.
	Message string
	// Param names the request parameter at fault, when known, such as
	// "logprobs" for a provider that has none.
	Param string
	// RetryAfter is how long the provider asked to wait, from whichever
	// header or body field it uses; zero when it did not say.
	RetryAfter time.Duration
	// Header holds the provider's rate-limit headers from the failed
	// response, as [RateLimitHeader] selects them, so a gateway can pass
	// them on to its caller; nil when there were none.
	Header http.Header
	// Retryable reports whether the same call may succeed later: true for
	// rate limits, overload, server errors, timeouts and connection
	// failures.
	Retryable bool
	// Err is the underlying cause, such as a network error.
	Err error
}

// Error returns "aiclient: <provider>: <kind> (<status> <code>): <message>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("aiclient: ")
	if e.Provider != "" {
		b.WriteString(e.Provider)
		b.WriteString(": ")
	}
	b.WriteString(string(e.Kind))
	if e.Status != 0 || e.Code != "" {
		b.WriteString(" (")
		if e.Status != 0 {
			b.WriteString(strconv.Itoa(e.Status))
		}
		if e.Code != "" {
			if e.Status != 0 {
				b.WriteByte(' ')
			}
			b.WriteString(e.Code)
		}
		b.WriteByte(')')
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	} else if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err is an [*Error] that is retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// KindFromStatus returns the kind an HTTP status means when the provider
// says nothing more specific.
func KindFromStatus(status int) Kind {
	switch status {
	case http.StatusUnauthorized:
		return KindAuthentication
	case http.StatusForbidden:
		return KindPermission
	case http.StatusNotFound:
		return KindNotFound
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return KindTimeout
	case http.StatusRequestEntityTooLarge:
		return KindContextLength
	case http.StatusTooManyRequests:
		return KindRateLimited
	case http.StatusServiceUnavailable, 529:
		return KindOverloaded
	}
	if status >= 500 {
		return KindServer
	}
	return KindInvalidRequest
}

// RetryableKind reports whether errors of kind k may succeed when retried.
func RetryableKind(k Kind) bool {
	switch k {
	case KindRateLimited, KindOverloaded, KindServer, KindTimeout:
		return true
	}
	return false
}

// NewError returns an Error with Kind and Retryable set from the status,
// for providers that say nothing more specific.
func NewError(provider string, status int, code, message string) *Error {
	e := &Error{Provider: provider, Status: status, Code: code, Message: message}
	return e.WithKind(KindFromStatus(status))
}

// WithKind sets Kind, sets Retryable to [RetryableKind](k), and returns e.
func (e *Error) WithKind(k Kind) *Error {
	e.Kind, e.Retryable = k, RetryableKind(k)
	return e
}

// TransportError wraps a failure to reach the provider (a refused or
// reset connection, a timeout) as a retryable *Error. A canceled context
// is returned as is, since the caller asked for it.
func TransportError(provider string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	kind := KindServer
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		kind = KindTimeout
	}
	return &Error{Provider: provider, Kind: kind, Code: "transport", Retryable: true, Err: err}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// RetryAfter returns how long a response's headers ask the client to
// wait, or zero. It reads, in order: "retry-after-ms" (OpenAI, Azure),
// "retry-after" (seconds or an HTTP date), then for a 429 the earliest of
// OpenAI's "x-ratelimit-reset-requests"/"x-ratelimit-reset-tokens"
// (durations such as "6m0s") and Anthropic's
// "anthropic-ratelimit-*-reset" (RFC 3339 times): the latest reset among
// the limits whose "remaining" header is 0, or the latest of all when no
// remaining count is sent.
func RetryAfter(res *http.Response, now time.Time) time.Duration {
	h := res.Header
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	if res.StatusCode != http.StatusTooManyRequests {
		return 0
	}
	// Wait for every exhausted limit to reset; when the provider does not
	// say which one is exhausted, wait for the latest reset.
	var exhausted, latest time.Duration
	for name, vs := range h {
		if len(vs) == 0 {
			continue
		}
		lower := strings.ToLower(name)
		var d time.Duration
		var remaining string
		switch {
		case strings.HasPrefix(lower, "x-ratelimit-reset-"):
			v, err := time.ParseDuration(vs[0])
			if err != nil {
				continue
			}
			d = v
			remaining = h.Get("X-Ratelimit-Remaining-" + strings.TrimPrefix(lower, "x-ratelimit-reset-"))
		case strings.HasPrefix(lower, "anthropic-ratelimit-") && strings.HasSuffix(lower, "-reset"):
			t, err := time.Parse(time.RFC3339, vs[0])
			if err != nil {
				continue
			}
			d = t.Sub(now)
			remaining = h.Get(strings.TrimSuffix(lower, "-reset") + "-remaining")
		default:
			continue
		}
		latest = max(latest, d)
		if remaining == "0" {
			exhausted = max(exhausted, d)
		}
	}
	if exhausted > 0 {
		return exhausted
	}
	return max(latest, 0)
}

// RateLimitHeader returns the rate-limit headers of h, or nil when it has
// none: Retry-After and retry-after-ms, OpenAI's (and Azure's)
// x-ratelimit-*, and Anthropic's anthropic-ratelimit-*.
func RateLimitHeader(h http.Header) http.Header {
	var out http.Header
	for k, vs := range h {
		lower := strings.ToLower(k)
		if lower != "retry-after" && lower != "retry-after-ms" &&
			!strings.HasPrefix(lower, "x-ratelimit-") && !strings.HasPrefix(lower, "anthropic-ratelimit-") {
			continue
		}
		if out == nil {
			out = http.Header{}
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}
