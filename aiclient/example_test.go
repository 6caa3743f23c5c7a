package aiclient_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/openai"
)

// A route tries OpenAI first and falls back to Anthropic when OpenAI is
// rate limited, before the caller sees a byte of the stream.
func ExampleClient_Stream() {
	oai := aitest.NewServer(aitest.OpenAI)
	defer oai.Close()
	oai.Push(aitest.Status(429, 30*time.Second)) // rate limited

	ant := aitest.NewServer(aitest.Anthropic)
	defer ant.Close()
	ant.Push(aitest.Text("Hello from Claude.", 12, 5))

	c := aiclient.New(aiclient.WithRoute("assistant",
		aiclient.Candidate{Provider: openai.New(openai.WithBaseURL(oai.URL()), openai.WithPolicies()), Model: "gpt-4o"},
		aiclient.Candidate{Provider: anthropic.New(anthropic.WithBaseURL(ant.URL())), Model: "claude-sonnet-4-5", Priority: 1},
	))
	s, err := c.Stream(context.Background(), &aiclient.Request{
		Model:    "assistant",
		Messages: []aiclient.Message{aiclient.UserText("Say hello.")},
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer s.Close()
	for s.Next() {
		if ev := s.Current(); ev.Type == aiclient.EventText {
			fmt.Print(ev.Text)
		}
	}
	fmt.Println()
	fmt.Println("err:", s.Err())
	// Output:
	// Hello from Claude.
	// err: <nil>
}

func ExamplePrices() {
	prices := aiclient.Prices{"gpt-4o": {Input: 2.50, CachedInput: 1.25, Output: 10}}
	// 2006 input tokens of which 1920 were read from the prompt cache.
	usage := aiclient.Usage{InputTokens: 2006, CacheReadTokens: 1920, OutputTokens: 300}
	cost, ok := prices.Cost("gpt-4o-2024-08-06", usage)
	fmt.Printf("$%.6f %v\n", cost, ok)
	// Output:
	// $0.005615 true
}

func ExampleError() {
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Reply{Status: 429, RetryAfter: 2 * time.Second})

	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies())
	_, err := p.Chat(context.Background(), &aiclient.Request{Model: "gpt-4o", Messages: []aiclient.Message{aiclient.UserText("hi")}})
	var e *aiclient.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Status, e.Retryable, e.RetryAfter)
	}
	// Output:
	// rate_limited 429 true 2s
}

func ExampleCollect() {
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Reply{Text: "Streamed, then collected.", Usage: aiclient.Usage{InputTokens: 8, OutputTokens: 4}})

	p := openai.New(openai.WithBaseURL(srv.URL()))
	s, err := p.Stream(context.Background(), &aiclient.Request{Model: "gpt-4o-mini", Messages: []aiclient.Message{aiclient.UserText("hi")}})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp, err := aiclient.Collect(s)
	fmt.Println(resp.Message.Text(), resp.Usage.TotalTokens(), err)
	// Output:
	// Streamed, then collected. 12 <nil>
}

// An adapter makes its own transport, shared by all its calls; a
// TransportConfig (given with the adapter's WithTransportConfig) tunes it.
// NewTransport shows what the adapter gets.
func ExampleNewTransport() {
	t := aiclient.NewTransport(aiclient.TransportConfig{MaxIdleConnsPerHost: 64})
	fmt.Println(t.MaxIdleConnsPerHost, t.IdleConnTimeout, t.ForceAttemptHTTP2)
	// Output: 64 1m30s true
}
