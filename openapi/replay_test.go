package openapi_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/openapi"
	"github.com/portico-dev/portico/resilience"
)

// recordingUpstream answers 503 to the first failures requests, then 201,
// and keeps every body it received.
type recordingUpstream struct {
	mu       sync.Mutex
	failures int
	bodies   [][]byte
	lengths  []int64
}

func (u *recordingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.bodies = append(u.bodies, b)
	u.lengths = append(u.lengths, r.ContentLength)
	fail := len(u.bodies) <= u.failures
	u.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// getBodyRetrier is the smallest retrying transport: on 503 it resends the
// request with a body from GetBody, as retry policies do.
type getBodyRetrier struct {
	next    http.RoundTripper
	missing bool
}

func (t *getBodyRetrier) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.GetBody == nil {
		t.missing = true
		return t.next.RoundTrip(req)
	}
	res, err := t.next.RoundTrip(req)
	if err != nil || res.StatusCode != http.StatusServiceUnavailable {
		return res, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	retry := req.Clone(req.Context())
	if retry.Body, err = req.GetBody(); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(retry)
}

func TestBodyReachesUpstreamUnchanged(t *testing.T) {
	t.Parallel()
	// Odd spacing and escapes: any re-encoding would change these bytes.
	const sent = "{ \"name\" : \"Rex\",\n  \"species\":\"dog\" , \"tag\" : \"caf\\u00e9\" }"
	tests := []struct {
		name      string
		failures  int
		transport func(next http.RoundTripper) http.RoundTripper
		chunked   bool
	}{
		{name: "a validated body reaches the upstream byte-identical",
			transport: func(next http.RoundTripper) http.RoundTripper { return next }},
		{name: "a chunked body is sent upstream byte-identical with its exact length", chunked: true,
			transport: func(next http.RoundTripper) http.RoundTripper { return next }},
		{name: "a transport that retries a 503 with GetBody resends the same bytes", failures: 1,
			transport: func(next http.RoundTripper) http.RoundTripper { return &getBodyRetrier{next: next} }},
		{
			name:     "the resilience retry policy resends the same bytes after a 503",
			failures: 2,
			chunked:  true,
			transport: func(next http.RoundTripper) http.RoundTripper {
				return resilience.NewTransport(next, resilience.Retry(resilience.RetryConfig{
					MaxAttempts:        3,
					BaseDelay:          time.Millisecond,
					MaxDelay:           5 * time.Millisecond,
					RetryNonIdempotent: true,
				}))
			},
		},
	}
	spec := load(t, versions[1])
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := &recordingUpstream{failures: tc.failures}
			upstream := httptest.NewServer(up)
			defer upstream.Close()
			target, _ := url.Parse(upstream.URL)
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			rt := tc.transport(base)
			proxy := &httputil.ReverseProxy{
				Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
				Transport: rt,
			}
			gw := httptest.NewServer(openapi.NewValidator(spec).Middleware(proxy))
			defer gw.Close()

			var body io.Reader = strings.NewReader(sent)
			if tc.chunked {
				body = io.MultiReader(strings.NewReader(sent)) // unknown length: sent chunked
			}
			req, _ := http.NewRequest(http.MethodPost, gw.URL+"/v1/pets", body)
			req.Header.Set("Content-Type", "application/json")
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("status = %d, want 201", res.StatusCode)
			}
			if r, ok := rt.(*getBodyRetrier); ok && r.missing {
				t.Fatal("the transport saw a request without GetBody")
			}
			up.mu.Lock()
			defer up.mu.Unlock()
			if len(up.bodies) != tc.failures+1 {
				t.Fatalf("upstream got %d requests, want %d", len(up.bodies), tc.failures+1)
			}
			for i, b := range up.bodies {
				if !bytes.Equal(b, []byte(sent)) {
					t.Errorf("attempt %d body = %q, want %q", i+1, b, sent)
				}
				if up.lengths[i] != int64(len(sent)) {
					t.Errorf("attempt %d Content-Length = %d, want %d", i+1, up.lengths[i], len(sent))
				}
			}
		})
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	openapi.Replay(req, []byte("abc"))
	for i := range 2 {
		rc, err := req.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		if string(b) != "abc" {
			t.Fatalf("read %d = %q, want abc", i, b)
		}
	}
	if b, _ := io.ReadAll(req.Body); string(b) != "abc" {
		t.Errorf("Body = %q, want abc", b)
	}
	if got, want := req.ContentLength, int64(3); got != want {
		t.Errorf("ContentLength = %d, want %d", got, want)
	}
}

func TestUploadsStreamThroughUnbuffered(t *testing.T) {
	t.Parallel()
	const size = 5 << 20 // five times the default body limit
	var got atomic.Int64
	var sum [32]byte
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		got.Store(n)
		copy(sum[:], h.Sum(nil))
		w.WriteHeader(http.StatusNoContent)
	})
	val := openapi.NewValidator(load(t, versions[0]))
	gw, client := gateway(t, val, upstream)
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	tests := []struct {
		name    string
		chunked bool
	}{
		{name: "an upload with a Content-Length larger than the body limit streams through"},
		{name: "a chunked upload larger than the body limit streams through", chunked: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader = bytes.NewReader(body)
			if tc.chunked {
				rd = io.MultiReader(rd)
			}
			req, _ := http.NewRequest(http.MethodPut, gw.URL+"/v1/files/big.json", rd)
			req.Header.Set("Content-Type", "application/octet-stream")
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNoContent {
				t.Fatalf("status = %d, want 204", res.StatusCode)
			}
			if n := got.Load(); n != size {
				t.Fatalf("upstream got %d bytes, want %d", n, size)
			}
			if sum != sha256.Sum256(body) {
				t.Fatalf("upstream got %d bytes that differ from those sent", size)
			}
		})
	}
	t.Run("an upload's path parameters are still validated", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, gw.URL+"/v1/files/big.exe", bytes.NewReader(body[:10]))
		req.Header.Set("Content-Type", "application/octet-stream")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", res.StatusCode)
		}
	})
}
