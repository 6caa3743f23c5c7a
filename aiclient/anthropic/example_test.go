package anthropic_test

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/anthropic"
)

func Example() {
	srv := aitest.NewServer(aitest.Anthropic) // a fake Anthropic API on a loopback port
	defer srv.Close()
	srv.Push(aitest.Reply{
		Reasoning: "The user greets me.",
		Signature: "sig-1",
		Text:      "Hello! How can I help?",
		Usage:     aiclient.Usage{InputTokens: 1200, CacheReadTokens: 1000, OutputTokens: 30},
	})

	p := anthropic.New(anthropic.WithBaseURL(srv.URL()), anthropic.WithAPIKey("sk-ant-test"))
	s, err := p.Stream(context.Background(), &aiclient.Request{
		Model:    "claude-sonnet-4-5",
		Messages: []aiclient.Message{aiclient.System("Be friendly."), aiclient.UserText("Hi!")},
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp, err := aiclient.Collect(s)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	for _, part := range resp.Message.Parts {
		fmt.Printf("%s: %s\n", part.Type, part.Text)
	}
	fmt.Println(resp.FinishReason, resp.RawFinishReason)
	fmt.Printf("input %d (cache reads %d), output %d\n", resp.Usage.InputTokens, resp.Usage.CacheReadTokens, resp.Usage.OutputTokens)
	fmt.Println("system prompt sent as:", srv.Requests()[0].JSON()["system"])
	// Output:
	// reasoning: The user greets me.
	// text: Hello! How can I help?
	// stop end_turn
	// input 1200 (cache reads 1000), output 30
	// system prompt sent as: [map[text:Be friendly. type:text]]
}
