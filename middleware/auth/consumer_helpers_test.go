package auth_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/internal/mwtest"
)

// whoami answers with the consumer in the request context, as JSON, or
// "anonymous".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c := middleware.ConsumerFrom(r.Context())
	if c == nil {
		_, _ = w.Write([]byte("anonymous"))
		return
	}
	_ = json.NewEncoder(w).Encode(c)
})

// consumerOf decodes a whoami body.
func consumerOf(t testing.TB, body []byte) *middleware.Consumer {
	t.Helper()
	if string(body) == "anonymous" {
		return nil
	}
	var c middleware.Consumer
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatalf("decoding consumer %q: %v", body, err)
	}
	return &c
}

// pick returns the server among a and b whose URL is url.
func pick(a, b *httptest.Server, url string) *httptest.Server {
	if a.URL == url {
		return a
	}
	return b
}

func readAll(t testing.TB, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// who is the comparable part of a Consumer that says who it is and how it
// authenticated.
type who = mwtest.Who

var whoOf = mwtest.WhoOf
