package ai_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway/ai"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProviderKeysNeverReachClientsLogsOrRecords(t *testing.T) {
	t.Parallel()
	const secret = "sk-CANARY-7f3a9c1e5b2d4f6a8c0e"
	fake := aitest.NewServer(aitest.OpenAI)
	defer fake.Close()
	fake.Push(
		aitest.Reply{Status: 401, ErrorCode: "invalid_api_key", ErrorMessage: "Incorrect API key provided: " + secret},
		aitest.Reply{Status: 400, ErrorCode: "invalid_request_error", ErrorMessage: "bad request for key " + secret},
		aitest.Reply{
			Status:       429,
			ErrorCode:    "rate_limit_exceeded",
			ErrorMessage: "slow down " + secret,
			RetryAfter:   time.Second,
		},
		aitest.Reply{
			Text:         "partial answer",
			Fault:        aitest.ErrorEvent,
			FaultAfter:   2,
			ErrorCode:    "server_error",
			ErrorMessage: "stream broke for " + secret,
		},
		aitest.Text("fine", 3, 1),
	)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := openai.New(openai.WithBaseURL(fake.URL()), openai.WithAPIKey(secret), openai.WithPolicies())
	client := aiclient.New(aiclient.WithRoute("gpt", aiclient.Candidate{Provider: p, Model: "gpt-4o"}), aiclient.WithLogger(logger))
	rec := &recorder{}
	srv := serve(t, client, ai.WithLogger(logger), ai.WithContent(true), ai.WithSink(ai.SinkFunc(func(ctx context.Context, r *ai.Record) {
		rec.Record(ctx, r)
		ai.LogSink(logger).Record(ctx, r)
	})))
	bodies := []string{
		chatBody("gpt", "first", 10),
		chatBody("gpt", "second", 10),
		chatBody("gpt", "third", 10),
		`{"model":"gpt","stream":true,"messages":[{"role":"user","content":"fourth"}]}`,
		chatBody("gpt", "fifth", 10),
	}
	var seen strings.Builder
	for _, b := range bodies {
		status, hdr, body := call(t, "POST", srv.URL+"/v1/chat/completions", "", b)
		seen.WriteString(strings.Join([]string{string(rune('0' + status/100)), hdr.Get("Retry-After"), string(body)}, " "))
		for k, vs := range hdr {
			seen.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
	}
	if got := len(fake.Requests()); got != 5 {
		t.Fatalf("the fake provider got %d requests, want 5", got)
	}
	if !strings.Contains(fake.Requests()[0].Header.Get("Authorization"), secret) {
		t.Fatal("the provider did not receive the key: the test proves nothing")
	}
	for name, text := range map[string]string{"responses": seen.String(), "logs": logs.String()} {
		for _, leak := range []string{secret, "CANARY"} {
			if strings.Contains(text, leak) {
				t.Errorf("the provider key appears in the %s:\n%s", name, text)
			}
		}
	}
	for _, r := range rec.all() {
		if strings.Contains(r.Error, "CANARY") {
			t.Errorf("the provider key appears in a record's error: %+v", r)
		}
		if r.Output != nil && strings.Contains(r.Output.Text(), "CANARY") {
			t.Errorf("the provider key appears in a record's output: %+v", r)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"ai call"`) {
		t.Error("the calls were not logged: the test proves nothing about logs")
	}
}
