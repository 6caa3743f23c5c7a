package problem_test

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/internal/requestid"
	"github.com/portico-dev/portico/internal/traceid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		p          *problem.Details
		method     string
		reqID      string
		traceID    string
		wantStatus int
		wantBody   map[string]any
	}{
		{
			name:       "a bare problem gets about:blank and the status text as title",
			p:          problem.New(http.StatusNotFound, "no route matches /x"),
			method:     http.MethodGet,
			wantStatus: 404,
			wantBody:   map[string]any{"type": "about:blank", "title": "Not Found", "status": 404.0, "detail": "no route matches /x"},
		},
		{
			name:       "a zero status becomes 500",
			p:          &problem.Details{},
			method:     http.MethodGet,
			wantStatus: 500,
			wantBody:   map[string]any{"type": "about:blank", "title": "Internal Server Error", "status": 500.0},
		},
		{
			name:       "the request ID from the context is added as an extension",
			p:          problem.New(http.StatusBadGateway, ""),
			method:     http.MethodGet,
			reqID:      "abc123",
			wantStatus: 502,
			wantBody:   map[string]any{"type": "about:blank", "title": "Bad Gateway", "status": 502.0, "request_id": "abc123"},
		},
		{
			name:       "the trace ID of the context is added as an extension",
			p:          problem.New(http.StatusBadGateway, ""),
			method:     http.MethodGet,
			traceID:    "0102030405060708090a0b0c0d0e0f10",
			wantStatus: 502,
			wantBody:   map[string]any{"type": "about:blank", "title": "Bad Gateway", "status": 502.0, "trace_id": "0102030405060708090a0b0c0d0e0f10"},
		},
		{
			name:       "a trace_id the caller set is kept",
			p:          problem.New(http.StatusBadGateway, "").With("trace_id", "mine"),
			method:     http.MethodGet,
			traceID:    "0102030405060708090a0b0c0d0e0f10",
			wantStatus: 502,
			wantBody:   map[string]any{"type": "about:blank", "title": "Bad Gateway", "status": 502.0, "trace_id": "mine"},
		},
		{
			name: "extensions cannot overwrite standard members",
			p: (&problem.Details{Type: "https://example.com/p/limit", Title: "Limited", Status: 429}).
				With("status", 200).With("type", "x").With("retry_in", 3),
			method:     http.MethodGet,
			wantStatus: 429,
			wantBody:   map[string]any{"type": "https://example.com/p/limit", "title": "Limited", "status": 429.0, "retry_in": 3.0},
		},
		{
			name:       "a custom type gets no default title",
			p:          &problem.Details{Type: "https://example.com/p/x", Status: 400},
			method:     http.MethodGet,
			wantStatus: 400,
			wantBody:   map[string]any{"type": "https://example.com/p/x", "status": 400.0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, "/x", nil)
			if tt.reqID != "" {
				r = r.WithContext(requestid.NewContext(r.Context(), "X-Request-Id", tt.reqID))
			}
			if tt.traceID != "" {
				var id traceid.ID
				if _, err := hex.Decode(id[:], []byte(tt.traceID)); err != nil {
					t.Fatal(err)
				}
				r = r.WithContext(traceid.NewContext(r.Context(), id))
			}
			w := httptest.NewRecorder()
			w.Header().Set("Content-Length", "99")
			w.Header().Set("Retry-After", "5")
			problem.Write(w, r, tt.p)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if ct := w.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("Content-Type = %q", ct)
			}
			if w.Header().Get("Content-Length") != "" {
				t.Error("stale Content-Length kept")
			}
			if w.Header().Get("Retry-After") != "5" {
				t.Error("Retry-After set by the caller was dropped")
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if len(got) != len(tt.wantBody) {
				t.Errorf("body = %v, want %v", got, tt.wantBody)
			}
			for k, v := range tt.wantBody {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestWriteHeadHasNoBody(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	problem.Error(w, httptest.NewRequest(http.MethodHead, "/", nil), http.StatusServiceUnavailable, "down")
	if got, want := w.Code, http.StatusServiceUnavailable; got != want {
		t.Errorf("HEAD: status = %d, want %d", got, want)
	}
	if got := w.Body.String(); got != "" {
		t.Errorf("HEAD: body = %q, want none", got)
	}
}
