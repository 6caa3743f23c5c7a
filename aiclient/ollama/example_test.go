package ollama_test

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/ollama"
)

func Example() {
	srv := aitest.NewServer(aitest.Ollama) // a fake Ollama server on a loopback port
	defer srv.Close()
	srv.Push(aitest.Text("Why is the sky blue? Rayleigh scattering.", 26, 9))

	p := ollama.New(ollama.WithBaseURL(srv.URL()))
	s, err := p.Stream(context.Background(), &aiclient.Request{
		Model:    "llama3.2",
		Messages: []aiclient.Message{aiclient.UserText("Why is the sky blue?")},
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer s.Close()
	var deltas int
	var acc aiclient.Accumulator
	for s.Next() {
		if s.Current().Type == aiclient.EventText {
			deltas++
		}
		acc.Add(s.Current())
	}
	resp := acc.Response()
	fmt.Println(resp.Message.Text())
	fmt.Println(deltas > 1, resp.FinishReason, resp.Usage.InputTokens, resp.Usage.OutputTokens, s.Err())
	// Output:
	// Why is the sky blue? Rayleigh scattering.
	// true stop 26 9 <nil>
}
