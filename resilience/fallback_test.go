package resilience_test

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func TestFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      resilience.FallbackConfig
		handler  func(int64, http.ResponseWriter, *http.Request)
		refused  bool
		wantCode int
		wantBody string
	}{
		{
			name:     "a static response replaces a refused connection",
			cfg:      resilience.FallbackConfig{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"items":[]}`)},
			refused:  true,
			wantCode: 200,
			wantBody: `{"items":[]}`,
		},
		{
			name: "a function replaces a chosen status",
			cfg: resilience.FallbackConfig{
				When: func(r *http.Response, err error) bool {
					return err != nil || r.StatusCode == http.StatusServiceUnavailable
				},
				Func: func(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
					return &http.Response{StatusCode: http.StatusNonAuthoritativeInfo, Body: io.NopCloser(stringsReader("cached " + req.URL.Path)), Header: http.Header{}}, nil
				}},
			handler: func(_ int64, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "down")
			},
			wantCode: 203,
			wantBody: "cached /items",
		},
		{
			name:     "a response the fallback does not choose passes through",
			cfg:      resilience.FallbackConfig{Status: 200},
			handler:  status(404),
			wantCode: 404,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := "http://" + closedAddr(t)
			if !tt.refused {
				url = newUpstream(t, tt.handler).URL
			}
			tr := resilience.NewTransport(newBase(t), resilience.Fallback(tt.cfg))
			resp, err := do(t, tr, http.MethodGet, url+"/items", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.StatusCode, tt.wantCode; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if got, want := readAll(t, resp), tt.wantBody; got != want {
				t.Errorf("body = %q, want %q", got, want)
			}
		})
	}
}

func TestFallbackSeesTheOpenCircuit(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, status(500))
	tr := resilience.NewTransport(newBase(t),
		resilience.CircuitBreaker(resilience.BreakerConfig{ConsecutiveFailures: 1}),
		resilience.Fallback(resilience.FallbackConfig{
			When:   func(_ *http.Response, err error) bool { return errors.Is(err, resilience.ErrCircuitOpen) },
			Status: 200, Body: []byte("degraded"),
		}))
	resp, err := do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	if got, want := resp.StatusCode, http.StatusInternalServerError; got != want {
		t.Fatalf("first call: status = %d, want %d", got, want)
	}
	readAll(t, resp)
	resp, err = do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readAll(t, resp), "degraded"; got != want {
		t.Errorf("body = %q, want the fallback's %q", got, want)
	}
	if got, want := u.hits.Load(), int64(1); got != want {
		t.Errorf("upstream hits = %d, want %d", got, want)
	}
}

func TestFallbackAnswersWhenTheOverallTimeoutExpires(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, hang)
	tr := resilience.NewTransport(newBase(t),
		resilience.OverallTimeout(50*time.Millisecond),
		resilience.Fallback(resilience.FallbackConfig{
			When:   func(_ *http.Response, err error) bool { return errors.Is(err, resilience.ErrTimeout) },
			Status: http.StatusOK, Body: []byte("stale but fast"),
		}))
	resp, err := do(t, tr, http.MethodGet, u.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "stale but fast" {
		t.Fatalf("body = %q, want the fallback", got)
	}
}
