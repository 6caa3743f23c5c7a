package vertex_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/vertex"
)

func Example() {
	srv := aitest.NewServer(aitest.Vertex) // a fake Vertex AI with Google's token endpoint
	defer srv.Close()
	srv.Push(aitest.Text("Bonjour !", 12, 4))

	// A service account key file, as the Google Cloud console gives it.
	dir, _ := os.MkdirTemp("", "vertex-example")
	defer os.RemoveAll(dir)
	key := filepath.Join(dir, "service-account.json")
	_ = os.WriteFile(key, srv.ServiceAccount(), 0o600)

	p, err := vertex.New(context.Background(),
		vertex.WithCredentialsFile(key), // the project comes from the key
		vertex.WithLocation("europe-west4"),
		vertex.WithBaseURL(srv.URL()))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp, err := p.Chat(context.Background(), &aiclient.Request{
		Model:    "gemini-2.5-flash",
		Messages: []aiclient.Message{aiclient.UserText("Say hello in French.")},
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(p.Name(), resp.Message.Text(), resp.Usage.InputTokens, resp.Usage.OutputTokens)
	fmt.Println(srv.Requests()[1].Path)
	// Output:
	// gcp.vertex_ai Bonjour ! 12 4
	// /v1/projects/aitest-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent
}
