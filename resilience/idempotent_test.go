package resilience_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func TestRetryRepeatsAPOSTMarkedIdempotent(t *testing.T) {
	t.Parallel()
	for _, marked := range []bool{false, true} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		tr := resilience.NewTransport(http.DefaultTransport, resilience.Retry(resilience.RetryConfig{BaseDelay: time.Millisecond}))
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("x"))
		if marked {
			req = req.WithContext(resilience.WithIdempotent(req.Context()))
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusServiceUnavailable
		if marked {
			want = http.StatusOK
		}
		if got := resp.StatusCode; got != want {
			t.Errorf("marked=%v: status %d, want %d", marked, got, want)
		}
		tr.CloseIdleConnections()
		srv.Close()
	}
}
