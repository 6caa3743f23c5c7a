package vertex_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"github.com/portico-dev/portico/aiclient/vertex"
)

func TestAnAssertionSignedWithAnotherKeyIsRefused(t *testing.T) {
	t.Parallel()
	issuer, other := aitest.NewServer(aitest.Vertex), aitest.NewServer(aitest.Vertex)
	defer issuer.Close()
	defer other.Close()
	var key map[string]string
	if err := json.Unmarshal(other.ServiceAccount(), &key); err != nil {
		t.Fatal(err)
	}
	key["token_uri"] = issuer.URL() + "/token" // other's key, issuer's endpoint
	data, _ := json.Marshal(key)
	p, err := vertex.New(context.Background(), vertex.WithCredentialsJSON(data), vertex.WithBaseURL(issuer.URL()), vertex.WithPolicies())
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(testkit.Deadline(t), hi("gemini-2.5-flash"))
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if got, want := e.Kind, aiclient.KindAuthentication; got != want {
		t.Errorf("kind %q, want %q", got, want)
	}
	if !strings.Contains(e.Message, "Invalid JWT Signature") {
		t.Errorf("message %q does not carry the token endpoint's reason", e.Message)
	}
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	t.Parallel()
	static := vertex.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}))
	tests := []struct {
		name string
		opts []vertex.Option
		want string
	}{
		{"no project", []vertex.Option{static}, "no project"},
		{"credentials that are not JSON", []vertex.Option{vertex.WithCredentialsJSON([]byte("not json"))}, "not JSON"},
		{"credentials of an unsupported type", []vertex.Option{vertex.WithCredentialsJSON([]byte(`{"type":"gdch_service_account"}`))}, `"gdch_service_account"`},
		{"a missing credentials file", []vertex.Option{vertex.WithCredentialsFile("/nonexistent/sa.json")}, "reading the credentials file"},
		{"a relative base URL", []vertex.Option{static, vertex.WithProject("p"), vertex.WithBaseURL("aiplatform")}, "absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := vertex.New(context.Background(), tt.opts...)
			testkit.WantError(t, err, tt.want)
		})
	}
}

// recorder answers every request with an empty Gemini response and keeps
// the URL asked for.
type recorder struct{ urls chan string }

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls <- req.URL.String()
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}]}`)),
		Request:    req,
	}, nil
}

func TestModelsAndLocationsMakeTheirURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, location, model, want string
	}{
		{
			name:     "a Google model in a region",
			location: "europe-west4",
			model:    "gemini-2.5-flash",
			want:     "https://europe-west4-aiplatform.googleapis.com/v1/projects/acme/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent",
		},
		{
			name:     "a Google model on the global endpoint",
			location: "global",
			model:    "gemini-2.5-pro",
			want:     "https://aiplatform.googleapis.com/v1/projects/acme/locations/global/publishers/google/models/gemini-2.5-pro:generateContent",
		},
		{
			name:     "a tuned model's endpoint",
			location: "us-central1",
			model:    "endpoints/4711",
			want:     "https://us-central1-aiplatform.googleapis.com/v1/projects/acme/locations/us-central1/endpoints/4711:generateContent",
		},
		{
			name:     "a full resource name",
			location: "us-central1",
			model:    "projects/shared/locations/us-east5/endpoints/9",
			want:     "https://us-central1-aiplatform.googleapis.com/v1/projects/shared/locations/us-east5/endpoints/9:generateContent",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := recorder{urls: make(chan string, 1)}
			p, err := vertex.New(context.Background(), vertex.WithProject("acme"), vertex.WithLocation(tt.location), vertex.WithPolicies(),
				vertex.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})), vertex.WithHTTPClient(&http.Client{Transport: rec}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Chat(testkit.Deadline(t), hi(tt.model)); err != nil {
				t.Fatal(err)
			}
			if got := <-rec.urls; got != tt.want {
				t.Errorf("URL %s\nwant %s", got, tt.want)
			}
		})
	}
}
