package aiclient_test

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/demo"
)

func TestAccumulatorBuildsTheResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []aiclient.Event
		want   string
	}{
		{
			"text deltas merge into one part",
			[]aiclient.Event{{Type: aiclient.EventStart, ID: "r1", Model: "m"}, {Type: aiclient.EventText, Text: "Hel"}, {Type: aiclient.EventText, Text: "lo"}},
			`{"id":"r1","model":"m","message":{"role":"assistant","parts":[{"type":"text","text":"Hello"}]},"finish_reason":"","raw_finish_reason":"","usage":{"input_tokens":0,"output_tokens":0}}`,
		},
		{
			"a signature closes a reasoning part and the next reasoning starts another",
			[]aiclient.Event{{Type: aiclient.EventReasoning, Text: "a"}, {Type: aiclient.EventReasoning, Signature: "s1"}, {Type: aiclient.EventReasoning, Text: "b"}, {Type: aiclient.EventText, Text: "t"}},
			`{"id":"","model":"","message":{"role":"assistant","parts":[{"type":"reasoning","text":"a","signature":"s1"},{"type":"reasoning","text":"b"},{"type":"text","text":"t"}]},"finish_reason":"","raw_finish_reason":"","usage":{"input_tokens":0,"output_tokens":0}}`,
		},
		{
			"interleaved tool-call fragments are keyed by index and compacted",
			[]aiclient.Event{
				{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: 1, ID: "c2", Name: "time"}},
				{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: 0, ID: "c1", Name: "weather"}},
				{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: 0, Arguments: `{"city": `}},
				{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: 1, Arguments: `{"tz":`}},
				{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: 0, Arguments: `"Oslo"}`}},
				{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: 1, Arguments: `"UTC"}`}},
				{Type: aiclient.EventFinish, FinishReason: aiclient.FinishToolCalls, RawFinishReason: "tool_use"},
			},
			`{"id":"","model":"","message":{"role":"assistant","tool_calls":[{"id":"c1","name":"weather","arguments":{"city":"Oslo"}},{"id":"c2","name":"time","arguments":{"tz":"UTC"}}]},"finish_reason":"tool_calls","raw_finish_reason":"tool_use","usage":{"input_tokens":0,"output_tokens":0}}`,
		},
		{
			"a call without arguments gets an empty object and invalid JSON is kept as a string",
			[]aiclient.Event{
				{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: 0, ID: "a", Name: "now"}},
				{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{
					Index:     1,
					ID:        "b",
					Name:      "bad",
					Arguments: `{"unterminated`,
				}},
			},
			`{"id":"","model":"","message":{"role":"assistant","tool_calls":[{"id":"a","name":"now","arguments":{}},{"id":"b","name":"bad","arguments":"{\"unterminated"}]},"finish_reason":"","raw_finish_reason":"","usage":{"input_tokens":0,"output_tokens":0}}`,
		},
		{
			"the last usage event wins",
			[]aiclient.Event{{Type: aiclient.EventUsage, Usage: aiclient.Usage{InputTokens: 5}}, {Type: aiclient.EventUsage, Usage: aiclient.Usage{InputTokens: 5, OutputTokens: 9}}},
			`{"id":"","model":"","message":{"role":"assistant"},"finish_reason":"","raw_finish_reason":"","usage":{"input_tokens":5,"output_tokens":9}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var acc aiclient.Accumulator
			for _, ev := range tt.events {
				acc.Add(ev)
			}
			got, err := json.Marshal(acc.Response())
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAccumulatorResponseIsASnapshot(t *testing.T) {
	t.Parallel()
	var acc aiclient.Accumulator
	acc.Add(aiclient.Event{Type: aiclient.EventText, Text: "a"})
	first := acc.Response()
	acc.Add(aiclient.Event{Type: aiclient.EventText, Text: "b"})
	if got, want := first.Message.Text(), "a"; got != want {
		t.Errorf("first response text = %q, want %q", got, want)
	}
	if got, want := acc.Response().Message.Text(), "ab"; got != want {
		t.Errorf("text now = %q, want %q", got, want)
	}
}

func TestStreamIteration(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	evs := []aiclient.Event{{Type: aiclient.EventText, Text: "x"}}
	closed := 0
	s := aiclient.NewStream(func() (aiclient.Event, error) {
		if len(evs) == 0 {
			return aiclient.Event{}, boom
		}
		ev := evs[0]
		evs = evs[1:]
		return ev, nil
	}, func() error { closed++; return nil })
	if !s.Next() {
		t.Fatal("Next = false before the first event")
	}
	if got, want := s.Current().Text, "x"; got != want {
		t.Errorf("Current().Text = %q, want %q", got, want)
	}
	if s.Next() {
		t.Fatal("Next = true at the error")
	}
	if got := s.Err(); !errors.Is(got, boom) {
		t.Errorf("Err() = %v, want %v", got, boom)
	}
	if s.Next() {
		t.Fatal("Next = true after the error")
	}
	s.Close()
	s.Close()
	if closed != 1 {
		t.Fatalf("closed %d times", closed)
	}
	clean := aiclient.NewStream(func() (aiclient.Event, error) { return aiclient.Event{}, io.EOF }, nil)
	if clean.Next() {
		t.Error("Next = true on a clean end")
	}
	if err := clean.Err(); err != nil {
		t.Errorf("Err() = %v after a clean end", err)
	}
	if err := clean.Close(); err != nil {
		t.Errorf("Close() = %v after a clean end", err)
	}
}

func TestCostOfNormalisedUsage(t *testing.T) {
	t.Parallel()
	prices := aiclient.Prices{
		"gpt-4o":  {Input: 2.50, CachedInput: 1.25, Output: 10},
		"o4-mini": {Input: 1.10, CachedInput: 0.275, Output: 4.40},
		"claude-sonnet-4-5": {
			Input:       3,
			CachedInput: 0.30,
			CacheWrite:  3.75,
			Output:      15,
		},
		"gemini-2.5-pro": {
			Input:       1.25,
			CachedInput: 0.31,
			Output:      10,
			Reasoning:   10,
		},
	}
	tests := []struct {
		name  string
		model string
		usage aiclient.Usage
		want  float64
	}{
		// OpenAI prompt-caching example: 2006 prompt tokens of which 1920 cached, 300 out.
		{
			name:  "OpenAI cached prompt tokens are billed at the cached price",
			model: "gpt-4o-2024-08-06",
			usage: aiclient.Usage{InputTokens: 2006, CacheReadTokens: 1920, OutputTokens: 300},
			want:  (86*2.50 + 1920*1.25 + 300*10) / 1e6,
		},
		// OpenAI reasoning example: 75 in, 1186 out of which 1024 reasoning, billed as output.
		{
			name:  "OpenAI reasoning tokens are billed as output",
			model: "o4-mini",
			usage: aiclient.Usage{InputTokens: 75, OutputTokens: 1186, ReasoningTokens: 1024},
			want:  (75*1.10 + 1186*4.40) / 1e6,
		},
		// Anthropic: input_tokens 50 + cache_read 100000 + cache_creation 2000 = 102050 in.
		{
			name:  "Anthropic cache reads and writes have their own prices",
			model: "claude-sonnet-4-5",
			usage: aiclient.Usage{
				InputTokens:      102050,
				CacheReadTokens:  100000,
				CacheWriteTokens: 2000,
				OutputTokens:     500,
			},
			want: (50*3 + 100000*0.30 + 2000*3.75 + 500*15) / 1e6,
		},
		{
			name:  "Gemini thoughts use the reasoning price",
			model: "gemini-2.5-pro",
			usage: aiclient.Usage{
				InputTokens:     1000,
				CacheReadTokens: 400,
				OutputTokens:    900,
				ReasoningTokens: 700,
			},
			want: (600*1.25 + 400*0.31 + 200*10 + 700*10) / 1e6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := prices.Cost(tt.model, tt.usage)
			if !ok {
				t.Fatalf("no cost, want %v", tt.want)
			}
			if math.Abs(got-tt.want) > 1e-12 {
				t.Fatalf("cost %v, want %v", got, tt.want)
			}
		})
	}
	if _, ok := prices.Cost("llama3", aiclient.Usage{InputTokens: 1}); ok {
		t.Fatal("an unpriced model has a cost")
	}
}

func TestMaxCostIsTheDearestCandidatesCeiling(t *testing.T) {
	t.Parallel()
	p := demo.New()
	c := aiclient.New(
		aiclient.WithRoute("chat",
			aiclient.Candidate{Provider: p, Model: "gpt-4o"},
			aiclient.Candidate{Provider: p, Model: "claude-sonnet-4-5", Priority: 1}),
		aiclient.WithRoute("mixed", aiclient.Candidate{Provider: p, Model: "gpt-4o"}, aiclient.Candidate{Provider: p, Model: "llama3"}),
		aiclient.WithPrices(aiclient.Prices{
			"gpt-4o": {Input: 2.50, CachedInput: 1.25, Output: 10},
			"claude-sonnet-4-5": {
				Input:       3,
				CachedInput: 0.30,
				CacheWrite:  3.75,
				Output:      15,
			},
		}))
	tests := []struct {
		name       string
		model      string
		in, out    int64
		want       float64
		wantPriced bool
	}{
		// Claude's cache writes are its dearest input: 1000 at $3.75, 500 at $15.
		{
			name:       "the dearest candidate at its dearest input price",
			model:      "chat",
			in:         1000,
			out:        500,
			want:       (1000*3.75 + 500*15) / 1e6,
			wantPriced: true,
		},
		{
			name:       "an unpriced candidate is reported, the priced ones still count",
			model:      "mixed",
			in:         1000,
			out:        0,
			want:       1000 * 2.50 / 1e6,
			wantPriced: false,
		},
		{
			name:       "an alias not routed costs nothing known",
			model:      "nope",
			in:         1000,
			out:        500,
			want:       0,
			wantPriced: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, priced := c.MaxCost(tt.model, tt.in, tt.out)
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("max cost = %v, want %v", got, tt.want)
			}
			if priced != tt.wantPriced {
				t.Errorf("priced = %t, want %t", priced, tt.wantPriced)
			}
		})
	}
}

func TestRetryAfterReadsEveryProviderHint(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		header map[string]string
		want   time.Duration
	}{
		{
			name:   "retry-after-ms wins",
			status: 429,
			header: map[string]string{"retry-after-ms": "1500", "retry-after": "9"},
			want:   1500 * time.Millisecond,
		},
		{
			name:   "retry-after in seconds",
			status: 503,
			header: map[string]string{"Retry-After": "7"},
			want:   7 * time.Second,
		},
		{
			name:   "retry-after as an HTTP date",
			status: 503,
			header: map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)},
			want:   90 * time.Second,
		},
		{
			name:   "OpenAI resets of the exhausted limit",
			status: 429,
			header: map[string]string{
				"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m30s",
				"x-ratelimit-remaining-tokens": "5000", "x-ratelimit-reset-tokens": "6m0s"},
			want: 90 * time.Second,
		},
		{
			name:   "Anthropic resets as RFC 3339 times",
			status: 429,
			header: map[string]string{
				"anthropic-ratelimit-tokens-remaining": "0", "anthropic-ratelimit-tokens-reset": now.Add(42 * time.Second).Format(time.RFC3339)},
			want: 42 * time.Second,
		},
		{
			name:   "reset headers without remaining counts give the latest reset",
			status: 429,
			header: map[string]string{
				"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "20s"},
			want: 20 * time.Second,
		},
		{
			name:   "reset headers are ignored when the status is not 429",
			status: 500,
			header: map[string]string{"x-ratelimit-reset-requests": "2s"},
			want:   0,
		},
		{
			name:   "nothing said means zero",
			status: 429,
			header: nil,
			want:   0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			for k, v := range tt.header {
				res.Header.Set(k, v)
			}
			if got := aiclient.RetryAfter(res, now); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		kind      aiclient.Kind
		retryable bool
	}{
		{400, aiclient.KindInvalidRequest, false},
		{401, aiclient.KindAuthentication, false},
		{403, aiclient.KindPermission, false},
		{404, aiclient.KindNotFound, false},
		{408, aiclient.KindTimeout, true},
		{413, aiclient.KindContextLength, false},
		{429, aiclient.KindRateLimited, true},
		{500, aiclient.KindServer, true},
		{503, aiclient.KindOverloaded, true},
		{504, aiclient.KindTimeout, true},
		{529, aiclient.KindOverloaded, true},
	}
	for _, tt := range tests {
		e := aiclient.NewError("p", tt.status, "c", "m")
		if got, want := e.Kind, tt.kind; got != want {
			t.Errorf("status %d: Kind = %s, want %s", tt.status, got, want)
		}
		if got, want := e.Retryable, tt.retryable; got != want {
			t.Errorf("status %d: Retryable = %v, want %v", tt.status, got, want)
		}
	}
	e := &aiclient.Error{
		Provider: "openai",
		Status:   429,
		Kind:     aiclient.KindRateLimited,
		Code:     "rate_limit_exceeded",
		Message:  "slow down",
	}
	if got := e.Error(); got != "aiclient: openai: rate_limited (429 rate_limit_exceeded): slow down" {
		t.Fatalf("Error() = %q", got)
	}
}

// Regression: argument buffers were strings.Builder values in a slice, and
// growing the slice copied a non-empty Builder, which panics.
func TestRegressionToolCallBuffersSurviveSliceGrowth(t *testing.T) {
	t.Parallel()
	var acc aiclient.Accumulator
	for i := range 20 {
		acc.Add(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{
			Index:     i,
			ID:        "c",
			Name:      "f",
			Arguments: `{"i":`,
		}})
	}
	for i := range 20 {
		acc.Add(aiclient.Event{Type: aiclient.EventToolCall, ToolCall: aiclient.ToolCallDelta{Index: i, Arguments: "1}"}})
	}
	calls := acc.Response().Message.ToolCalls
	if got, want := len(calls), 20; got != want {
		t.Fatalf("%d calls, want %d: %+v", got, want, calls)
	}
	if got, want := string(calls[19].Arguments), `{"i":1}`; got != want {
		t.Fatalf("calls[19].Arguments = %s, want %s", got, want)
	}
}
