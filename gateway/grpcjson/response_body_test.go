package grpcjson_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"

	"github.com/portico-dev/portico/gateway/grpcjson"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpcwire"
)

// echoGRPC serves, over h2c, a gRPC service that answers every unary call
// with its request message.
func echoGRPC(t *testing.T) *url.URL {
	t.Helper()
	srv := &http.Server{Protocols: new(http.Protocols), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, err := grpcwire.ReadFrame(r.Body, 1<<20)
		if err != nil {
			grpcproxy.WriteStatus(w, 13, err.Error())
			return
		}
		w.Header().Set("Content-Type", grpcwire.ContentType)
		_, _ = w.Write(grpcwire.Frame(msg))
		w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
	})}
	srv.Protocols.SetUnencryptedHTTP2(true)
	lis, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &url.URL{Scheme: "http", Host: lis.Addr().String()}
}

func TestResponseBodyAndCustomMethods(t *testing.T) {
	t.Parallel()
	only := &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: "/v1/names"}, Body: "*", ResponseBody: "name"}
	search := &annotations.HttpRule{Pattern: &annotations.HttpRule_Custom{Custom: &annotations.CustomHttpPattern{Kind: "SEARCH", Path: "/v1/search/{name}"}}}
	up := grpcproxy.NewUpstreamTransport(nil)
	t.Cleanup(up.CloseIdleConnections)
	h, err := grpcjson.New(grpcjson.Config{
		Files:     filesWith(t, map[string]*annotations.HttpRule{"Only": only, "Search": search}),
		Target:    echoGRPC(t),
		Transport: &grpcproxy.Transport{Next: up},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	status, _, body := do(t, http.MethodPost, srv.URL+"/v1/names", `{"name":"ada"}`)
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("response_body: status %d, want %d: %s", got, want, body)
	}
	if got, want := string(body), `"ada"`; got != want {
		t.Errorf("response_body: body %s, want %s", got, want)
	}

	status, _, body = do(t, "SEARCH", srv.URL+"/v1/search/bob", "")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("custom: status %d, want %d: %s", got, want, body)
	}
	if got, want := string(body), `{"name":"bob"}`; got != want {
		t.Errorf("custom: body %s, want %s", got, want)
	}
}
