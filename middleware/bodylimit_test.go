package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware"
)

// chunked hides a reader's length so the client sends it chunked.
type chunked struct{ io.Reader }

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 16
	tests := []struct {
		name         string
		body         io.Reader
		handlerWrite bool // the handler answers its own error on a failed read
		wantStatus   int
		wantReached  bool // the handler ran
		wantMaxBytes bool // the handler's read failed with *http.MaxBytesError
	}{
		{
			name:        "a body at the limit with Content-Length passes",
			body:        strings.NewReader(strings.Repeat("a", limit)),
			wantStatus:  200,
			wantReached: true,
		},
		{name: "a body one byte over with Content-Length is refused before the handler", body: strings.NewReader(strings.Repeat("a", limit+1)), wantStatus: 413},
		{
			name:        "a chunked body at the limit passes",
			body:        chunked{strings.NewReader(strings.Repeat("a", limit))},
			wantStatus:  200,
			wantReached: true,
		},
		{
			name:         "a chunked body one byte over fails the read and gets 413",
			body:         chunked{strings.NewReader(strings.Repeat("a", limit+1))},
			wantStatus:   413,
			wantReached:  true,
			wantMaxBytes: true,
		},
		{
			name:         "a chunked body over the limit keeps the handler's own answer",
			body:         chunked{strings.NewReader(strings.Repeat("a", 4*limit))},
			handlerWrite: true,
			wantStatus:   422,
			wantReached:  true,
			wantMaxBytes: true,
		},
		{name: "a request without a body passes", wantStatus: 200, wantReached: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			type result struct {
				reached, maxBytes bool
			}
			got := make(chan result, 1)
			h := middleware.BodyLimit(limit)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := io.ReadAll(r.Body)
				var mbe *http.MaxBytesError
				isMax := errors.As(err, &mbe) && mbe.Limit == limit
				got <- result{reached: true, maxBytes: isMax}
				if err != nil && tt.handlerWrite {
					http.Error(w, "cannot read", http.StatusUnprocessableEntity)
				}
			}))
			srv := serve(t, h)
			res, body := do(t, srv, newRequest(t, http.MethodPost, srv.URL, tt.body))
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", res.StatusCode, tt.wantStatus, body)
			}
			var r result
			select {
			case r = <-got:
			default:
			}
			if got, want := r.reached, tt.wantReached; got != want {
				t.Errorf("handler reached = %v, want %v", got, want)
			}
			if got, want := r.maxBytes, tt.wantMaxBytes; got != want {
				t.Errorf("handler saw a *http.MaxBytesError = %v, want %v", got, want)
			}
			if tt.wantStatus == 413 {
				doc := problemDoc(t, res, body)
				if got, want := doc["status"], float64(http.StatusRequestEntityTooLarge); got != want {
					t.Errorf("problem status = %v, want %v", got, want)
				}
				if got, want := doc["limit"], float64(limit); got != want {
					t.Errorf("problem limit = %v, want %v", got, want)
				}
				if !res.Close {
					t.Fatal("the connection stays open with an unread body")
				}
			}
		})
	}
}

func TestBodyLimitPanicsOnANonPositiveLimit(t *testing.T) {
	t.Parallel()
	defer func() {
		if v, _ := recover().(string); !strings.HasPrefix(v, "portico/middleware: BodyLimit") {
			t.Fatalf("panic %q, want a BodyLimit wiring error", v)
		}
	}()
	middleware.BodyLimit(0)
}
