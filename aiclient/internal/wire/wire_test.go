package wire_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTransportFailuresBecomeRetryableErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the connection is refused
	c := &wire.Common{Provider: "openai", APIKey: "sk-abcdef", Custom: true}
	c.Build()
	_, err = c.Do(context.Background(), http.MethodPost, "http://"+addr+"/v1/chat", []byte(`{}`), nil, "gpt", nil)
	var e *aiclient.Error
	if !errors.As(err, &e) || !e.Retryable || e.Kind != aiclient.KindServer || e.Code != "transport" || e.Model != "gpt" {
		t.Fatalf("got %v (%+v)", err, e)
	}
}

func TestACanceledContextIsReturnedAsIs(t *testing.T) {
	t.Parallel()
	c := &wire.Common{Provider: "openai"}
	c.Build()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Do(ctx, http.MethodGet, "http://127.0.0.1:1/", nil, nil, "m", nil)
	var e *aiclient.Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
}

func TestRedactRemovesTheKey(t *testing.T) {
	t.Parallel()
	c := &wire.Common{APIKey: "sk-live-123456"}
	if got := c.Redact("bad key sk-live-123456 given"); strings.Contains(got, "sk-live") || got != "bad key [redacted] given" {
		t.Fatalf("got %q", got)
	}
}

func TestStreamErrorIsARetryableInterruption(t *testing.T) {
	t.Parallel()
	e := wire.StreamError("anthropic", "claude", nil)
	if e.Status != http.StatusOK || e.Code != "stream_interrupted" || !e.Retryable || e.Err == nil {
		t.Fatalf("%+v", e)
	}
}
