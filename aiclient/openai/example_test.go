package openai_test

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/openai"
)

func Example() {
	srv := aitest.NewServer(aitest.OpenAI) // a fake OpenAI on a loopback port
	defer srv.Close()
	srv.Push(aitest.Text("Hello from a fake OpenAI!", 12, 7))

	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithAPIKey("sk-test"))
	resp, err := p.Chat(context.Background(), &aiclient.Request{
		Model:    "gpt-4o-mini",
		Messages: []aiclient.Message{aiclient.System("Be brief."), aiclient.UserText("Say hello.")},
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(resp.Message.Text())
	fmt.Println(resp.FinishReason, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	// Output:
	// Hello from a fake OpenAI!
	// stop 12 7
}

func ExampleProvider_Stream() {
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Reply{
		Text:      "Checking.",
		ToolCalls: []aitest.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}},
	})

	p := openai.New(openai.WithBaseURL(srv.URL()))
	s, err := p.Stream(context.Background(), &aiclient.Request{Model: "gpt-4o", Messages: []aiclient.Message{aiclient.UserText("Weather in Paris?")}})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer s.Close()
	var acc aiclient.Accumulator
	for s.Next() {
		acc.Add(s.Current())
	}
	if err := s.Err(); err != nil {
		fmt.Println("stream error:", err)
		return
	}
	resp := acc.Response()
	call := resp.Message.ToolCalls[0]
	fmt.Println(resp.Message.Text(), call.ID, call.Name, string(call.Arguments), resp.FinishReason)
	// Output:
	// Checking. call_1 get_weather {"city":"Paris"} tool_calls
}

func ExampleWithAzure() {
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Text("Hi from Azure.", 3, 4))

	// The base URL is the resource endpoint, https://NAME.openai.azure.com
	// in production; the request's model names the deployment.
	endpoint := srv.URL()[:len(srv.URL())-len("/v1")]
	p := openai.New(openai.WithBaseURL(endpoint), openai.WithAzure("2024-10-21"), openai.WithAPIKey("azure-key"))
	resp, err := p.Chat(context.Background(), &aiclient.Request{Model: "my-gpt-4o-deployment", Messages: []aiclient.Message{aiclient.UserText("Hi")}})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(p.Name(), srv.Requests()[0].Path, resp.Message.Text())
	// Output:
	// azure.ai.openai /openai/deployments/my-gpt-4o-deployment/chat/completions Hi from Azure.
}
