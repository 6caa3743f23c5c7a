package grpcjson_test

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/gateway/grpcjson"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// translate starts the test service and a translating server in front of
// it, and returns the server's URL.
func translate(t testing.TB, cfg grpcjson.Config) (string, *grpctest.Server) {
	t.Helper()
	s := grpctest.Start(t, grpctest.Options{})
	return translateTo(t, s, cfg), s
}

func translateTo(t testing.TB, s *grpctest.Server, cfg grpcjson.Config) string {
	t.Helper()
	if cfg.Files == nil {
		files, err := grpcjson.ParseDescriptorSet(grpctest.DescriptorSet)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Files = files
	}
	cfg.Target, _ = url.Parse(s.URL)
	up := grpcproxy.NewUpstreamTransport(s.ClientTLS)
	t.Cleanup(up.CloseIdleConnections)
	cfg.Transport = &grpcproxy.Transport{Next: up}
	h, err := grpcjson.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// do sends a request and returns the status, the Content-Type and the body.
func do(t testing.TB, method, u, body string, header ...string) (int, string, []byte) {
	t.Helper()
	status, h, b := grpctest.DoJSON(t, method, u, body, header...)
	return status, h.Get("Content-Type"), b
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return m
}

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func descriptorSet() []byte { return grpctest.DescriptorSet }

// inRange reports got outside [lo, hi], each bound on its own; name says
// what got is.
func inRange[T cmp.Ordered](t testing.TB, name string, got, lo, hi T) {
	t.Helper()
	if got < lo {
		t.Errorf("%s = %v, want at least %v", name, got, lo)
	}
	if got > hi {
		t.Errorf("%s = %v, want at most %v", name, got, hi)
	}
}

// wantErrContaining reports a nil err, or one whose message lacks sub.
func wantErrContaining(t testing.TB, err error, sub string) {
	t.Helper()
	if err == nil {
		t.Errorf("err = nil, want an error containing %q", sub)
		return
	}
	if !strings.Contains(err.Error(), sub) {
		t.Errorf("err = %v, want it to contain %q", err, sub)
	}
}
