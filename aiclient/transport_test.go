package aiclient_test

import (
	"context"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/bedrock"
	"github.com/portico-dev/portico/aiclient/gemini"
	"github.com/portico-dev/portico/aiclient/ollama"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/aiclient/vertex"
)

// concurrency is how many calls the connection reuse tests keep in
// flight, and rounds how many times they do it.
const (
	concurrency = 32
	rounds      = 4
	// reuseLimit is the most connections the calls may open.
	reuseLimit = concurrency + concurrency/4
)

// adapters build each adapter at its defaults against a fake provider of
// its format.
var adapters = []struct {
	name   string
	format aitest.Format
	build  func(t *testing.T, srv *aitest.Server, tc aiclient.TransportConfig) aiclient.Provider
}{
	{"openai", aitest.OpenAI, func(_ *testing.T, srv *aitest.Server, tc aiclient.TransportConfig) aiclient.Provider {
		return openai.New(openai.WithBaseURL(srv.URL()), openai.WithTransportConfig(tc))
	}},
	{"azure", aitest.OpenAI, func(_ *testing.T, srv *aitest.Server, tc aiclient.TransportConfig) aiclient.Provider {
		// The Azure layout is served under the fake's root.
		return openai.New(openai.WithBaseURL(strings.TrimSuffix(srv.URL(), "/v1")), openai.WithAzure("2024-10-21"),
			openai.WithAPIKey("azure-key"), openai.WithTransportConfig(tc))
	}},
	{"anthropic", aitest.Anthropic, func(_ *testing.T, srv *aitest.Server, tc aiclient.TransportConfig) aiclient.Provider {
		return anthropic.New(anthropic.WithBaseURL(srv.URL()), anthropic.WithAPIKey("k"), anthropic.WithTransportConfig(tc))
	}},
	{"gemini", aitest.Gemini, func(_ *testing.T, srv *aitest.Server, tc aiclient.TransportConfig) aiclient.Provider {
		return gemini.New(gemini.WithBaseURL(srv.URL()), gemini.WithAPIKey("k"), gemini.WithTransportConfig(tc))
	}},
	{"ollama", aitest.Ollama, func(_ *testing.T, srv *aitest.Server, tc aiclient.TransportConfig) aiclient.Provider {
		return ollama.New(ollama.WithBaseURL(srv.URL()), ollama.WithTransportConfig(tc))
	}},
	{"bedrock", aitest.Bedrock, func(t *testing.T, srv *aitest.Server, tc aiclient.TransportConfig) aiclient.Provider {
		p, err := bedrock.New(context.Background(), bedrock.WithBaseURL(srv.URL()), bedrock.WithRegion("eu-west-3"),
			bedrock.WithCredentials(credentials.NewStaticCredentialsProvider(aitest.AWSAccessKeyID, aitest.AWSSecretAccessKey, "")),
			bedrock.WithTransportConfig(tc))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}},
	{"vertex", aitest.Vertex, func(t *testing.T, srv *aitest.Server, tc aiclient.TransportConfig) aiclient.Provider {
		p, err := vertex.New(context.Background(), vertex.WithCredentialsJSON(srv.ServiceAccount()), vertex.WithBaseURL(srv.URL()),
			vertex.WithTransportConfig(tc))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}},
}

// callConcurrently makes rounds of n calls at once, alternating whole
// and streamed ones, and fails on any error.
func callConcurrently(t *testing.T, p aiclient.Provider, n, rounds int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for r := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				req := &aiclient.Request{Model: "aitest-1", Messages: []aiclient.Message{aiclient.UserText("hi")}}
				if r%2 == 0 {
					_, err := p.Chat(ctx, req)
					errs <- err
					return
				}
				s, err := p.Stream(ctx, req)
				if err == nil {
					_, err = aiclient.Collect(s)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
		}
	}
}

func TestEveryAdapterReusesItsConnectionsAtItsDefaults(t *testing.T) {
	t.Parallel()
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(a.format)
			defer srv.Close()
			for range concurrency * rounds {
				srv.Push(aitest.Text("Hello there.", 5, 3))
			}
			p := a.build(t, srv, aiclient.TransportConfig{})
			callConcurrently(t, p, concurrency, rounds)
			// One connection per call in flight, and a few more: Go's
			// transport returns a connection to its pool just after the
			// call that used it has read its body, so a call that follows
			// at once may dial (Vertex's token request shares the
			// transport too). Without reuse, most calls would dial.
			if got, limit := srv.Connections(), reuseLimit; got > limit {
				t.Errorf("%d calls, %d at once, opened %d connections, want at most %d", concurrency*rounds, concurrency, got, limit)
			}
			if got, want := srv.Pending(), 0; got != want {
				t.Errorf("replies left = %d, want %d", got, want)
			}
		})
	}
}

func TestMaxIdleConnsPerHostBoundsTheConnectionsKept(t *testing.T) {
	t.Parallel()
	// With 2 idle connections kept (http.DefaultTransport's setting), the
	// calls beyond them open new ones: the setting is what reuse needs.
	srv := aitest.NewServer(aitest.OpenAI)
	defer srv.Close()
	for range concurrency * rounds {
		srv.Push(aitest.Text("Hello there.", 5, 3))
	}
	p := openai.New(openai.WithBaseURL(srv.URL()), openai.WithTransportConfig(aiclient.TransportConfig{MaxIdleConnsPerHost: 2}))
	callConcurrently(t, p, concurrency, rounds)
	if got, floor := srv.Connections(), 2*concurrency; got < floor {
		t.Errorf("%d calls at 2 idle connections opened %d connections, want at least %d", concurrency*rounds, got, floor)
	}
}

func TestNewTransport(t *testing.T) {
	t.Parallel()
	def := aiclient.NewTransport(aiclient.TransportConfig{})
	if got, want := def.MaxIdleConnsPerHost, aiclient.DefaultMaxIdleConnsPerHost; got != want {
		t.Errorf("default MaxIdleConnsPerHost = %d, want %d", got, want)
	}
	if got, want := def.IdleConnTimeout, aiclient.DefaultIdleConnTimeout; got != want {
		t.Errorf("default IdleConnTimeout = %v, want %v", got, want)
	}
	if got, want := def.TLSHandshakeTimeout, aiclient.DefaultTLSHandshakeTimeout; got != want {
		t.Errorf("default TLSHandshakeTimeout = %v, want %v", got, want)
	}
	if !def.ForceAttemptHTTP2 {
		t.Error("ForceAttemptHTTP2 = false, want true: HTTP/2 where the provider offers it")
	}
	if def.Proxy == nil {
		t.Error("Proxy = nil, want the environment's, as http.DefaultTransport")
	}
	set := aiclient.NewTransport(aiclient.TransportConfig{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute, TLSHandshakeTimeout: 3 * time.Second})
	if got, want := set.MaxIdleConnsPerHost, 64; got != want {
		t.Errorf("MaxIdleConnsPerHost = %d, want %d", got, want)
	}
	if got, want := set.IdleConnTimeout, time.Minute; got != want {
		t.Errorf("IdleConnTimeout = %v, want %v", got, want)
	}
	if got, want := set.TLSHandshakeTimeout, 3*time.Second; got != want {
		t.Errorf("TLSHandshakeTimeout = %v, want %v", got, want)
	}
	var _ http.RoundTripper = set
}

func TestTransportConfigValidateNamesTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  aiclient.TransportConfig
		want string
	}{
		{aiclient.TransportConfig{MaxIdleConnsPerHost: -1}, "max_idle_conns_per_host:"},
		{aiclient.TransportConfig{IdleConnTimeout: -time.Second}, "idle_conn_timeout:"},
		{aiclient.TransportConfig{DialTimeout: -time.Second}, "dial_timeout:"},
		{aiclient.TransportConfig{TLSHandshakeTimeout: -time.Second}, "tls_handshake_timeout:"},
	} {
		err := tc.cfg.Validate()
		if err == nil {
			t.Fatalf("Validate(%+v) = nil, want an error starting %q", tc.cfg, tc.want)
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error starting %q", tc.cfg, err, tc.want)
		}
	}
	if err := (aiclient.TransportConfig{}).Validate(); err != nil {
		t.Errorf("Validate(zero) = %v, want nil", err)
	}
}

func TestBedrockAndVertexRefuseANegativeTransportSetting(t *testing.T) {
	t.Parallel()
	bad := aiclient.TransportConfig{MaxIdleConnsPerHost: -1}
	_, err := bedrock.New(context.Background(), bedrock.WithBaseURL("http://127.0.0.1:1"), bedrock.WithRegion("eu-west-3"),
		bedrock.WithAPIKey("k"), bedrock.WithTransportConfig(bad))
	testkit.WantError(t, err, "max_idle_conns_per_host")
	_, err = vertex.New(context.Background(), vertex.WithProject("p"), vertex.WithBaseURL("http://127.0.0.1:1"),
		vertex.WithTransportConfig(bad))
	testkit.WantError(t, err, "max_idle_conns_per_host")
}
