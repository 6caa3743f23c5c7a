package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/openai"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newUpstreamServer serves the upstream and mock provider on loopback.
func newUpstreamServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newUpstream())
	t.Cleanup(srv.Close)
	return srv
}

// gatewayOf serves the gateway of a target's configuration over the
// upstream at addr.
func gatewayOf(t *testing.T, file, addr string) *httptest.Server {
	t.Helper()
	c, err := config.Parse("loadtest.yaml", fmt.Appendf(nil, file, addr), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Build(gateway.WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); _ = g.Close() })
	return srv
}

func TestTheMockProviderAnswersLikeOpenAI(t *testing.T) {
	t.Parallel()
	whole, chunks := mockCompletion()
	if got, lo := len(whole), 600; got < lo {
		t.Errorf("the whole answer is %d bytes, want about 670 (at least %d)", got, lo)
	}
	if got, hi := len(whole), 750; got > hi {
		t.Errorf("the whole answer is %d bytes, want about 670 (at most %d)", got, hi)
	}
	if got, want := len(chunks), 20+3; got != want {
		t.Errorf("%d stream events, want %d (20 content chunks, finish, usage, [DONE])", got, want)
	}
	srv := newUpstreamServer(t)
	p := openai.New(openai.WithBaseURL(srv.URL + "/v1"))
	req := &aiclient.Request{Model: "mock-1", Messages: []aiclient.Message{aiclient.UserText("hi")}}
	res, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Message.Text(), answerText; got != want {
		t.Errorf("whole answer %q, want %q", got, want)
	}
	s, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := aiclient.Collect(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := streamed.Message.Text(), answerText; got != want {
		t.Errorf("streamed answer %q, want %q", got, want)
	}
	if got, want := streamed.Usage.OutputTokens, int64(80); got != want {
		t.Errorf("streamed output tokens %d, want %d", got, want)
	}
}

func TestTheBareProxyStreamsEveryAnswerWhole(t *testing.T) {
	t.Parallel()
	// A regression test: without full duplex, the bare proxy cut about
	// one streamed answer in a thousand (the provider answers before the
	// proxy has finished sending the request body).
	up := newUpstreamServer(t)
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	bare := httptest.NewServer(fullDuplex(newBare(u)))
	defer bare.Close()
	c := newClient(8)
	defer c.CloseIdleConnections()
	for _, w := range []workload{getLoad, postLoad, aiWhole, aiStreamed} {
		l := drive(context.Background(), c, bare.URL, w, 8, 300*time.Millisecond)
		if l.ok == 0 {
			t.Errorf("%s: no answer", w.name)
		}
		if l.failed != 0 {
			t.Errorf("%s: %d of %d calls failed, the first: %v", w.name, l.failed, l.ok+l.failed, l.firstErr)
		}
	}
	fb, err := firstByte(context.Background(), c, bare.URL, aiStreamed, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fb <= 0 {
		t.Errorf("first byte after %v, want a positive time", fb)
	}
}

func TestEveryGatewayTargetAnswersItsWorkloads(t *testing.T) {
	t.Parallel()
	up := newUpstreamServer(t)
	addr := strings.TrimPrefix(up.URL, "http://")
	for _, tg := range targets {
		if tg.config == "" {
			continue
		}
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			srv := gatewayOf(t, tg.config, addr)
			client := newClient(1)
			defer client.CloseIdleConnections()
			for _, w := range tg.workloads {
				if err := call(context.Background(), client, srv.URL, w); err != nil {
					t.Errorf("%s: %v", w.name, err)
				}
			}
		})
	}
}

func TestTheChainRefusesACallWithoutTheKey(t *testing.T) {
	t.Parallel()
	up := newUpstreamServer(t)
	srv := gatewayOf(t, chainConfig, strings.TrimPrefix(up.URL, "http://"))
	res, err := http.Get(srv.URL + getLoad.path)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if got, want := res.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("status %d, want %d: the chain's API key check is measured", got, want)
	}
}

func TestCPUTimeReadsAProcessFromProc(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's tick-grained count moves, or give up
	// after far more work than a tick takes.
	after := before
	for i := 0; i < 1000 && after == before; i++ {
		spin(1_000_000)
		if after, err = cpuTime(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if after <= before {
		t.Errorf("CPU time went from %v to %v while spinning, want it to grow", before, after)
	}
	if _, err := cpuTime(-1); err == nil {
		t.Error("cpuTime(-1) succeeded, want an error")
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

var sink int

func spin(n int) {
	for i := range n {
		sink += i
	}
}

func TestParseOptionsRefusesBadSettings(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-duration", "0s"}, {"-warmup", "-1s"}, {"-conns", "0"}, {"-runs", "0"}, {"-first-byte", "0"}, {"-targets", "route,nginx"},
		{"-rate", "0"}, {"-phase", "0s"}, {"-reload-every", "0s"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) succeeded, want an error", args)
		}
	}
	o, err := parseOptions([]string{"-targets", "ai", "-pin=false"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(o.only), "map[ai:true]"; got != want {
		t.Errorf("targets %s, want %s", got, want)
	}
}

func TestReportShowsRatiosToTheBareProxy(t *testing.T) {
	t.Parallel()
	ms := []measurement{
		{
			target:    bareTarget,
			workload:  getLoad.name,
			perSecond: 1000,
			cpu:       100 * time.Microsecond,
		},
		{
			target:    routeTarget,
			workload:  getLoad.name,
			perSecond: 900,
			cpu:       120 * time.Microsecond,
		},
		{
			target:    bareTarget,
			workload:  aiWhole.name,
			perSecond: 2000,
			cpu:       50 * time.Microsecond,
		},
		{
			target:    aiTarget,
			workload:  aiWhole.name,
			perSecond: 1000,
			cpu:       100 * time.Microsecond,
		},
		{target: bareTarget, workload: "first byte", firstByte: time.Millisecond},
		{target: aiTarget, workload: "first byte", firstByte: 1500 * time.Microsecond},
	}
	var b strings.Builder
	if err := report(&b, &options{
		conns:    32,
		runs:     1,
		cpus:     2,
		duration: time.Second,
	}, ms); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Portico, one route | 900 | 0.90 | 120.0 | 1.20 |", "| Portico, AI endpoint | 1000 | 0.50 | 100.0 | 2.00 |", "| 1.50 ms | +0.50 ms |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "production chain") {
		t.Errorf("the report shows a target it did not measure:\n%s", b.String())
	}
}

func TestListenAddrReadsTheGatewaysJSONLog(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, log, want string }{
		{"proxy URL", `{"level":"INFO","msg":"starting"}` + "\n" +
			`{"level":"INFO","msg":"gateway listening","proxy":"http://127.0.0.1:4000","admin":"http://127.0.0.1:4001"}` + "\n", "127.0.0.1:4000"},
		{"not yet", `{"level":"INFO","msg":"starting"}` + "\n" + `{"msg":"gateway list`, ""},
	} {
		file := filepath.Join(t.TempDir(), "gateway.log")
		if err := os.WriteFile(file, []byte(c.log), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := listenAddr(file); got != c.want {
			t.Errorf("%s: listenAddr = %q, want %q", c.name, got, c.want)
		}
	}
}
