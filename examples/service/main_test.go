package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer collects the service's log output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log records written so far.
func (b *syncBuffer) records() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// started is a running service.
type started struct {
	base   string
	addr   string
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
	client *http.Client
}

// start runs the service on a loopback port and waits until it listens.
func start(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{
		logs:   &syncBuffer{},
		cancel: cancel,
		done:   make(chan error, 1),
		client: &http.Client{Transport: &http.Transport{}},
	}
	go func() { s.done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), s.logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("the service did not stop")
		}
		s.client.CloseIdleConnections()
	})
	deadline := time.Now().Add(20 * time.Second)
	for s.addr == "" {
		for _, r := range s.logs.records() {
			if r["msg"] == "listening" {
				s.addr, _ = r["addr"].(string)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the service did not log its address")
		}
		select {
		case err := <-s.done:
			t.Fatalf("the service stopped: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	s.base = "http://" + s.addr
	return s
}

func (s *started) do(t *testing.T, method, path, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestTheServiceServesOrders(t *testing.T) {
	t.Parallel()
	s := start(t, "-max-body", "256")

	res, body := s.do(t, http.MethodGet, "/healthz", "")
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Fatalf("healthz: status %d, want %d", got, want)
	}
	if got, want := string(body), "ok\n"; got != want {
		t.Fatalf("healthz: %q, want %q", got, want)
	}

	res, body = s.do(t, http.MethodPost, "/orders", `{"item":"coffee","quantity":2}`, "X-Request-ID", "create-1")
	if got, want := res.StatusCode, http.StatusCreated; got != want {
		t.Fatalf("create: status %d, want %d (%s)", got, want, body)
	}
	if got, want := res.Header.Get("X-Request-ID"), "create-1"; got != want {
		t.Fatalf("create: X-Request-ID %q, want %q", got, want)
	}
	var created order
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatalf("created order %s: %v", body, err)
	}
	if got, want := (order{Item: created.Item, Quantity: created.Quantity}), (order{Item: "coffee", Quantity: 2}); got != want {
		t.Fatalf("created order %+v, want %+v", got, want)
	}
	if loc := res.Header.Get("Location"); loc != "/orders/"+created.ID {
		t.Fatalf("Location = %q", loc)
	}

	res, body = s.do(t, http.MethodGet, "/orders/"+created.ID, "")
	var got order
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Fatalf("get: status %d, want %d (%s)", got, want, body)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("get: %s: %v", body, err)
	}
	if got, want := got.ID, created.ID; got != want {
		t.Fatalf("get: ID %q, want %q", got, want)
	}
	res, body = s.do(t, http.MethodGet, "/orders", "")
	var all []order
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Fatalf("list: status %d, want %d (%s)", got, want, body)
	}
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatalf("list: %s: %v", body, err)
	}
	if got, want := len(all), 1; got != want {
		t.Fatalf("list: %d orders, want %d", got, want)
	}

	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		want    int
	}{
		{
			name:   "malformed JSON is a 400 problem",
			method: http.MethodPost,
			path:   "/orders",
			body:   `{"item":`,
			want:   400,
		},
		{
			name:   "an unknown field is a 400 problem",
			method: http.MethodPost,
			path:   "/orders",
			body:   `{"item":"tea","quantity":1,"price":0}`,
			want:   400,
		},
		{
			name:   "a zero quantity is a 422 problem",
			method: http.MethodPost,
			path:   "/orders",
			body:   `{"item":"tea","quantity":0}`,
			want:   422,
		},
		{
			name:   "a body over the limit is a 413 problem",
			method: http.MethodPost,
			path:   "/orders",
			body:   `{"item":"` + strings.Repeat("x", 300) + `","quantity":1}`,
			want:   413,
		},
		{
			name:   "an unknown order is a 404 problem",
			method: http.MethodGet,
			path:   "/orders/nope",
			want:   404,
		},
		{
			name:   "an unknown path is a 404 problem",
			method: http.MethodGet,
			path:   "/nowhere",
			want:   404,
		},
		{
			name:   "a wrong method is a 405 problem",
			method: http.MethodPut,
			path:   "/orders",
			want:   405,
		},
		{
			name:    "a preflight from a foreign origin is a 403 problem",
			method:  http.MethodOptions,
			path:    "/orders",
			headers: []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "DELETE"},
			want:    403,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := s.do(t, tt.method, tt.path, tt.body, tt.headers...)
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (%s)", res.StatusCode, tt.want, body)
			}
			var doc map[string]any
			if got, want := res.Header.Get("Content-Type"), "application/problem+json"; got != want {
				t.Fatalf("Content-Type = %q, want %q", got, want)
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("not a problem document: %s: %v", body, err)
			}
			if doc["request_id"] == "" {
				t.Fatal("problem request_id is empty")
			}
			if got, want := doc["request_id"], any(res.Header.Get("X-Request-ID")); got != want {
				t.Fatalf("problem request_id %v, want the header's %v", got, want)
			}
		})
	}

	res, _ = s.do(t, http.MethodOptions, "/orders/"+created.ID, "", "Origin", "http://localhost:3000", "Access-Control-Request-Method", "DELETE")
	if got, want := res.StatusCode, http.StatusNoContent; got != want {
		t.Fatalf("allowed preflight: status %d, want %d", got, want)
	}
	if got, want := res.Header.Get("Access-Control-Allow-Origin"), "http://localhost:3000"; got != want {
		t.Fatalf("allowed preflight: Access-Control-Allow-Origin %q, want %q", got, want)
	}
	if res, _ = s.do(t, http.MethodDelete, "/orders/"+created.ID, ""); res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", res.StatusCode)
	}

	// The access log names the route template, not the raw path, and
	// skips health checks.
	var sawGet bool
	for _, r := range s.logs.records() {
		if r["msg"] != "request" {
			continue
		}
		if r["route"] == "/healthz" {
			t.Fatal("health checks are logged")
		}
		if r["method"] == "GET" && r["route"] == "/orders/{id}" && r["status"] == float64(200) {
			sawGet = true
		}
	}
	if !sawGet {
		t.Fatalf("no access log record for GET /orders/{id}: %v", s.logs.records())
	}
}

func TestTheServiceStreamsNewOrders(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/orders/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if got, want := line, ": subscribed\n"; got != want {
		t.Fatalf("first line %q, want %q", got, want)
	}
	s.do(t, http.MethodPost, "/orders", `{"item":"tea","quantity":3}`)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading events: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var o order
			if err := json.Unmarshal([]byte(data), &o); err != nil {
				t.Fatalf("event data %q: %v", data, err)
			}
			if got, want := o.Item, "tea"; got != want {
				t.Fatalf("event item %q, want %q", got, want)
			}
			return
		}
	}
}

func TestTheServiceDrainsInFlightRequestsOnShutdown(t *testing.T) {
	t.Parallel()
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	srv := newServer(cfg, logger)
	// Signal when a request has entered the handler: the server drops a
	// request it has read but not yet dispatched when shutdown begins.
	active := make(chan struct{}, 1)
	api := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case active <- struct{}{}:
		default:
		}
		api.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, srv, ln, 30*time.Second, logger) }()

	body := `{"item":"late order","quantity":1}`
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	// Send the headers and part of the body: the request is in flight.
	_, _ = io.WriteString(conn, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body[:10])
	select {
	case <-active:
	case <-time.After(20 * time.Second):
		t.Fatal("the request did not reach the handler")
	}

	cancel() // as SIGTERM does

	// Wait until the listener is closed: shutdown has begun.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the service still accepts connections after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the service stopped before the request in flight finished: %v", err)
	default:
	}

	_, _ = io.WriteString(conn, body[10:])
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request: status %d, want 201", res.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v, want nil after a clean drain", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the service did not stop after draining")
	}
}

func TestTheServiceRejectsBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "a malformed trusted proxy names the flag", args: []string{"-trusted-proxies", "10.0.0.0"}, want: "-trusted-proxies"},
		{name: "a zero body limit names the flag", args: []string{"-max-body", "0"}, want: "-max-body"},
		{name: "an unknown flag is refused", args: []string{"-nope"}, want: "nope"},
		{name: "help is reported as flag.ErrHelp", args: []string{"-help"}, want: "help requested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := run(context.Background(), tt.args, io.Discard)
			if err == nil {
				t.Fatalf("run = nil, want an error about %s", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run = %v, want an error about %s", err, tt.want)
			}
		})
	}
}

func TestTheServiceReportsAnAddressInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(context.Background(), []string{"-addr", ln.Addr().String()}, io.Discard)
	if err == nil {
		t.Fatal("run = nil, want a listen error")
	}
	if errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v, want a listen error", err)
	}
}
