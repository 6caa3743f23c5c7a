package guard_test

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/aiclient/openai"
)

// A guard masks e-mail addresses before OpenAI sees them and restores them
// in the answer, and blocks any call carrying a credential.
func ExampleNew() {
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	srv.Push(aitest.Text("I will write to <EMAIL_1>.", 10, 8))

	g, err := guard.New(openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies()), []guard.Rule{
		{Name: "no-secrets", Action: guard.Block, Detector: guard.Secrets()},
		{Name: "pii", Action: guard.Mask, Detector: guard.Email()},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := g.Chat(context.Background(), &aiclient.Request{Model: "gpt-4o",
		Messages: []aiclient.Message{aiclient.UserText("Write to jane@example.com.")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("provider saw:", srv.Requests()[0].JSON()["messages"].([]any)[0].(map[string]any)["content"])
	fmt.Println("caller got:", resp.Message.Text())

	_, err = g.Chat(context.Background(), &aiclient.Request{Model: "gpt-4o",
		Messages: []aiclient.Message{aiclient.UserText("My key is AKIAIOSFODNN7EXAMPLE")}})
	rule, _ := guard.IsBlocked(err)
	fmt.Println("blocked by:", rule)
	// Output:
	// provider saw: Write to <EMAIL_1>.
	// caller got: I will write to jane@example.com.
	// blocked by: no-secrets
}
