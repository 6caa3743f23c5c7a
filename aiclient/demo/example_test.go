package demo_test

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/demo"
)

func Example() {
	p := demo.New()
	resp, err := p.Chat(context.Background(), &aiclient.Request{
		Model:    "demo",
		Messages: []aiclient.Message{aiclient.UserText("Hello!")},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Message.Text(), resp.FinishReason, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	// Output: You said: Hello! stop 3 4
}

func ExampleProvider_Stream() {
	s, err := demo.New().Stream(context.Background(), &aiclient.Request{
		Messages: []aiclient.Message{aiclient.UserText("one two")},
	})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for s.Next() {
		if ev := s.Current(); ev.Type == aiclient.EventText {
			fmt.Printf("%q\n", ev.Text)
		}
	}
	// Output:
	// "You"
	// " said:"
	// " one"
	// " two"
}
