package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

func configFor(url, server string) string {
	return fmt.Sprintf(`
upstreams:
  - name: svc
    instances: [{url: %q}]
routes:
  - path: /who
    upstream: svc
    response_headers:
      set: {X-Config: %q}
`, url, server)
}

func TestHotReloadUnderLoad(t *testing.T) {
	t.Parallel()
	a, b := gwtest.EchoServer(t, "a"), gwtest.EchoServer(t, "b")
	path := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(path, []byte(configFor(a.URL, "one")), 0o600); err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 16)
	rl, err := config.NewReloader(config.ReloadConfig{
		Load: func(st *gateway.State) (*gateway.Gateway, error) {
			return config.LoadGateway(path, gateway.WithState(st))
		},
		Path:     path,
		Drain:    5 * time.Second,
		Logger:   slog.New(slog.DiscardHandler),
		OnReload: func(err error) { results <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rl)
	t.Cleanup(func() { srv.Close(); rl.Close() })

	// A client loop runs through every reload and must never see an error.
	var seenTwo atomic.Bool
	var failures []string
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := srv.Client().Get(srv.URL + "/who")
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					mu.Lock()
					failures = append(failures, resp.Status)
					mu.Unlock()
				}
				if resp.Header.Get("X-Config") == "two" {
					seenTwo.Store(true)
				}
			}
		}()
	}

	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { defer close(watched); rl.Watch(ctx, 20*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-watched })

	// A good file is picked up by the watcher.
	gwtest.WriteFile(t, path, configFor(b.URL, "two"))
	select {
	case err := <-results:
		if err != nil {
			t.Fatalf("reload failed: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the file change was not picked up")
	}
	deadline := time.Now().Add(30 * time.Second)
	for !seenTwo.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	// A broken file is rejected and the current config keeps serving.
	gwtest.WriteFile(t, path, "routes: [{path: /who, upstream: missing}]\n")
	select {
	case err := <-results:
		if err == nil {
			t.Fatal("a broken config was accepted")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the broken file was not picked up")
	}
	close(stop)
	wg.Wait()
	resp, err := srv.Client().Get(srv.URL + "/who")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Config"); got != "two" {
		t.Errorf("after a rejected reload X-Config = %q, want two", got)
	}
	if !seenTwo.Load() {
		t.Error("clients never saw the reloaded config")
	}
	if len(failures) > 0 {
		t.Errorf("%d client requests failed during reloads, first: %s", len(failures), failures[0])
	}
}

func TestServeDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}))
	t.Cleanup(slow.Close)
	g, err := gateway.New(gateway.WithUpstream(gwtest.UpstreamOf(t, "slow", slow)), gateway.WithRoute(gateway.Route{Path: "/slow", Upstream: "slow"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- gateway.ServerConfig{ShutdownGrace: 30 * time.Second}.Serve(ctx, l, g) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	cancel() // shutdown begins with the request in flight
	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	r := <-got
	if r.err != nil {
		t.Fatalf("in-flight request: %v; want it to finish", r.err)
	}
	if got, want := r.body, "finished"; got != want {
		t.Errorf("in-flight request: %q, want %q", got, want)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var recs []map[string]any
	for line := range bytes.Lines(b.buf) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func TestTheDefaultReloadBuildsTheNewFileAndLogsHowLongItTook(t *testing.T) {
	t.Parallel()
	a := gwtest.EchoServer(t, "a")
	path := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(path, []byte(configFor(a.URL, "one")), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	rl, err := config.NewReloader(config.ReloadConfig{
		Path:    path,
		Options: []gateway.Option{gateway.WithLogger(slog.New(slog.DiscardHandler))},
		Logger:  slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rl)
	t.Cleanup(func() { srv.Close(); rl.Close() })
	if err := os.WriteFile(path, []byte(configFor(a.URL, "two")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(srv.URL + "/who")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if got, want := res.Header.Get("X-Config"), "two"; got != want {
		t.Errorf("after the reload X-Config = %q, want %q", got, want)
	}
	var reloaded []map[string]any
	for _, rec := range logs.records(t) {
		if rec["msg"] == "configuration reloaded" {
			reloaded = append(reloaded, rec)
		}
	}
	if got, want := len(reloaded), 1; got != want {
		t.Fatalf("%d reload records, want %d", got, want)
	}
	if build, _ := reloaded[0]["build"].(float64); build <= 0 {
		t.Errorf("the reload record's build = %v, want a positive duration", reloaded[0]["build"])
	}
	if _, ok := reloaded[0]["warm"].(float64); !ok {
		t.Errorf("the reload record's warm = %v, want a duration", reloaded[0]["warm"])
	}
}

func TestTheDefaultLoadTakesItsVariablesFromLookupAndItsFileFromFS(t *testing.T) {
	t.Parallel()
	a := gwtest.EchoServer(t, "a")
	files := fstest.MapFS{"gw.yaml": {Data: []byte(configFor(a.URL, "${VERSION}"))}}
	var version atomic.Value
	version.Store("one")
	rl, err := config.NewReloader(config.ReloadConfig{
		Path: "gw.yaml",
		FS:   files,
		Lookup: func(name string) (string, bool) {
			if name != "VERSION" {
				return "", false
			}
			return version.Load().(string), true
		},
		Options: []gateway.Option{gateway.WithLogger(gwtest.Quiet)},
		Logger:  gwtest.Quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rl.Close() })
	header := func() string {
		w := httptest.NewRecorder()
		rl.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/who", nil))
		return w.Header().Get("X-Config")
	}
	if got, want := header(), "one"; got != want {
		t.Errorf("X-Config = %q, want %q", got, want)
	}
	version.Store("two")
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := header(), "two"; got != want {
		t.Errorf("after the reload X-Config = %q, want %q", got, want)
	}
}

func TestNewReloaderPanicsOnSettingsOnlyTheDefaultLoadUses(t *testing.T) {
	t.Parallel()
	load := func(*gateway.State) (*gateway.Gateway, error) { return nil, errors.New("not called") }
	for _, tc := range []struct {
		name string
		cfg  config.ReloadConfig
		want string
	}{
		{"neither Path nor Load", config.ReloadConfig{}, "portico/config: ReloadConfig needs Path or Load"},
		{"Lookup with Load", config.ReloadConfig{Load: load, Lookup: os.LookupEnv},
			"portico/config: ReloadConfig.Lookup applies to the default load only; drop it or Load"},
		{"Options with Load", config.ReloadConfig{Load: load, Options: []gateway.Option{gateway.WithLogger(gwtest.Quiet)}},
			"portico/config: ReloadConfig.Options apply to the default load only; drop them or Load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if got := fmt.Sprint(recover()); got != tc.want {
					t.Errorf("panic %q, want %q", got, tc.want)
				}
			}()
			rl, _ := config.NewReloader(tc.cfg)
			if rl != nil {
				_ = rl.Close()
			}
		})
	}
}
