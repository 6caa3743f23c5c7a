package entra_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/entra"
	"github.com/portico-dev/portico/aiclient/openai"
)

func ExampleClientSecret() {
	// Entra ID's token endpoint, faked on a loopback port.
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAiOiJKV1Qi.entra"}`))
	}))
	defer login.Close()
	azure := aitest.NewServer(aitest.OpenAI) // an Azure OpenAI resource
	defer azure.Close()
	azure.Push(aitest.Text("Hello from Azure.", 5, 4))

	ts := entra.ClientSecret("contoso-tenant-id", "app-client-id", "app-secret", entra.WithAuthorityHost(login.URL))
	p := openai.New(
		openai.WithBaseURL(strings.TrimSuffix(azure.URL(), "/v1")), // https://NAME.openai.azure.com
		openai.WithAzure("2024-10-21"),
		openai.WithDeployment("gpt-4o-prod"),
		openai.WithToken(ts.Token))
	resp, err := p.Chat(context.Background(), &aiclient.Request{Model: "gpt-4o", Messages: []aiclient.Message{aiclient.UserText("hi")}})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	got := azure.Requests()[0]
	fmt.Println(resp.Message.Text())
	fmt.Println(got.Path, got.Header.Get("Authorization"))
	// Output:
	// Hello from Azure.
	// /openai/deployments/gpt-4o-prod/chat/completions Bearer eyJ0eXAiOiJKV1Qi.entra
}
