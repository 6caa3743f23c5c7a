package aitest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/openai"
)

func ExampleServer() {
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(
		aitest.Status(429, 2*time.Second), // first call: rate limited
		aitest.Reply{Text: "a stream that breaks", Fault: aitest.ErrorEvent, FaultAfter: 3}, // second: fails after 200 and 3 events (the role chunk, "a s", "tre")
	)
	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies()) // no retries, to see each fault
	req := &aiclient.Request{Model: "gpt-4o", Messages: []aiclient.Message{aiclient.UserText("hi")}}

	_, err := p.Chat(context.Background(), req)
	var e *aiclient.Error
	errors.As(err, &e)
	fmt.Println("first:", e.Kind, e.RetryAfter)

	s, _ := p.Stream(context.Background(), req)
	resp, err := aiclient.Collect(s)
	errors.As(err, &e)
	fmt.Printf("second: %q then %s (status %d)\n", resp.Message.Text(), e.Kind, e.Status)
	fmt.Println("requests:", len(srv.Requests()))
	// Output:
	// first: rate_limited 2s
	// second: "a stre" then server_error (status 200)
	// requests: 2
}
