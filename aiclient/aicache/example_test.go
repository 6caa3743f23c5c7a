package aicache_test

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/openai"
)

// The second identical call is answered from the cache, at no cost.
func ExampleNew() {
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Text("Paris.", 12, 2))

	c, err := aicache.New(openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies()))
	if err != nil {
		fmt.Println(err)
		return
	}
	req := &aiclient.Request{Model: "gpt-4o", Messages: []aiclient.Message{aiclient.UserText("Capital of France?")}}
	for range 2 {
		call := &aicache.Call{Scope: "acme"}
		resp, err := c.Chat(aicache.WithCall(context.Background(), call), req)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(resp.Message.Text(), "hit:", call.Hit, "tokens:", resp.Usage.TotalTokens())
	}
	fmt.Println("provider calls:", len(srv.Requests()))
	// Output:
	// Paris. hit: false tokens: 14
	// Paris. hit: true tokens: 0
	// provider calls: 1
}
