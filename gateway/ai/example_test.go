package ai_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/demo"
	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/middleware"
)

func Example() {
	client := aiclient.New(aiclient.WithRoute("demo", aiclient.Candidate{Provider: demo.New()}))
	h, err := ai.New(client,
		ai.WithAuthenticator(ai.NewKeys(map[string]middleware.Consumer{"portico-demo-key": {ID: "demo"}})),
		ai.WithLimit(ai.Limit{Tokens: 10_000}))
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"demo","messages":[{"role":"user","content":"Hello!"}]}`))
	req.Header.Set("Authorization", "Bearer portico-demo-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct {
			Message struct{ Content string }
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	fmt.Println(resp.StatusCode, out.Choices[0].Message.Content)
	// Output: 200 You said: Hello!
}

func ExamplePrompt() {
	client := aiclient.New(aiclient.WithRoute("demo", aiclient.Candidate{Provider: demo.New()}))
	h, err := ai.New(client, ai.WithPrompt(ai.Prompt{
		Name:     "sentiment",
		Model:    "demo",
		Messages: []ai.Template{{Role: aiclient.RoleUser, Text: "Sentiment of: {{.text}}"}},
		Input:    json.RawMessage(`{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}`),
		Output:   json.RawMessage(`{"type":"object","required":["label"],"properties":{"label":{"enum":["positive","negative"]}}}`),
	}))
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, body := range []string{`{"text":"great"}`, `{"txt":"great"}`} {
		resp, err := http.Post(srv.URL+"/prompts/sentiment", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
		if resp.StatusCode == http.StatusOK {
			fmt.Print(string(b))
		}
	}
	// Output:
	// 200 application/json
	// {"result":{"label":"positive"}}
	// 400 application/problem+json
}
