package bedrock_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/bedrock"
)

func Example() {
	srv := aitest.NewServer(aitest.Bedrock) // a fake Bedrock runtime on a loopback port, checking signatures
	defer srv.Close()
	srv.Push(aitest.Reply{
		ID:        "b5e3f1c0-7d1e-4b8e-9a51-3c2f0d8e6a11",
		ToolCalls: []aitest.ToolCall{{ID: "tooluse_1", Name: "get_weather", Arguments: `{"city":"Lisbon"}`}},
		Usage:     aiclient.Usage{InputTokens: 50, OutputTokens: 40},
	})

	// Without WithCredentials and WithRegion, the AWS SDK's default chain
	// and configuration are used.
	p, err := bedrock.New(context.Background(),
		bedrock.WithRegion("us-east-1"),
		bedrock.WithCredentials(credentials.NewStaticCredentialsProvider(aitest.AWSAccessKeyID, aitest.AWSSecretAccessKey, "")),
		bedrock.WithBaseURL(srv.URL()))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp, err := p.Chat(context.Background(), &aiclient.Request{
		Model:    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
		Messages: []aiclient.Message{aiclient.UserText("Weather in Lisbon?")},
		Tools:    []aiclient.Tool{{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	call := resp.Message.ToolCalls[0]
	fmt.Println(resp.ID)
	fmt.Println(call.ID, call.Name, string(call.Arguments))
	fmt.Println(resp.FinishReason, resp.RawFinishReason, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	// Output:
	// b5e3f1c0-7d1e-4b8e-9a51-3c2f0d8e6a11
	// tooluse_1 get_weather {"city":"Lisbon"}
	// tool_calls tool_use 50 40
}
