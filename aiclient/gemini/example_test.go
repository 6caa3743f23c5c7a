package gemini_test

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/gemini"
)

func Example() {
	srv := aitest.NewServer(aitest.Gemini) // a fake Gemini API on a loopback port
	defer srv.Close()
	srv.Push(aitest.Reply{
		ToolCalls: []aitest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Lisbon"}`}},
		Signature: "opaque-signature",
		Usage:     aiclient.Usage{InputTokens: 50, OutputTokens: 40, ReasoningTokens: 32},
	})

	p := gemini.New(gemini.WithBaseURL(srv.URL()), gemini.WithAPIKey("test-key"))
	resp, err := p.Chat(context.Background(), &aiclient.Request{
		Model:    "gemini-2.5-flash",
		Messages: []aiclient.Message{aiclient.UserText("Weather in Lisbon?")},
		Tools:    []aiclient.Tool{{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	call := resp.Message.ToolCalls[0]
	fmt.Println(call.ID, call.Name, string(call.Arguments), call.Signature)
	fmt.Println(resp.FinishReason, resp.RawFinishReason, resp.Usage.OutputTokens, resp.Usage.ReasoningTokens)
	// Output:
	// call_0 get_weather {"city":"Lisbon"} opaque-signature
	// tool_calls STOP 40 32
}
