package vlogstest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/vlogstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAPushedLineComesBackVerbatimInItsStream(t *testing.T) {
	t.Parallel()
	s := vlogstest.Start(t)
	body := fmt.Sprintf(`{"streams":[{"stream":{"job":"test","tenant":"acme"},"values":[[%q,%q]]}]}`,
		fmt.Sprint(time.Now().UnixNano()), `{"route":"/pets","status":200}`)
	resp, err := http.Post(s.LokiURL()+"/loki/api/v1/push", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusNoContent; got != want {
		t.Fatalf("push status = %d, want %d", got, want)
	}
	entries := s.Await(`{tenant="acme"}`, 1)
	if got, want := len(entries), 1; got != want {
		t.Fatalf("entries = %d, want %d", got, want)
	}
	if got, want := entries[0]["_msg"], `{"route":"/pets","status":200}`; got != want {
		t.Errorf("_msg = %q, want %q", got, want)
	}
	if got, want := entries[0]["_stream"], `{job="test",tenant="acme"}`; got != want {
		t.Errorf("_stream = %q, want %q", got, want)
	}
	if got := s.Query(`{tenant="other"}`); len(got) != 0 {
		t.Errorf("a stream filter on another tenant found %d entries, want none", len(got))
	}
}
