package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

func TestComposeMergesParallelCalls(t *testing.T) {
	t.Parallel()
	users := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"path":%q,"auth":%q}`, r.URL.EscapedPath(), r.Header.Get("Authorization"))
	})
	orders := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `[{"n":1},{"n":2}]`)
	})
	release := make(chan struct{})
	slow := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, `{"recs":[]}`)
	})
	defer close(release)
	h := middleware.Compose(middleware.ComposeConfig{
		Header: []string{"Authorization"},
		Calls: []middleware.ComposeCall{
			{
				Name:    "user",
				Key:     "user",
				URL:     users.URL + "/users/{path.id}",
				Timeout: 30 * time.Second,
			},
			{
				Name:    "orders",
				Key:     "orders",
				URL:     orders.URL + "/orders?user={path.id}",
				Timeout: 30 * time.Second,
			},
			{
				Name:     "recs",
				Key:      "recommendations",
				URL:      slow.URL + "/recs",
				Timeout:  150 * time.Millisecond,
				Optional: true,
			},
			{Name: "root", URL: users.URL + "/root"},
		},
	})
	mux := http.NewServeMux()
	mux.Handle("GET /profile/{id}", h)
	gw := httptest.NewServer(mux)
	defer gw.Close()

	done := make(chan exchange, 1)
	go func() {
		done <- fetch(t, http.MethodGet, gw.URL+"/profile/a%2Fb", map[string]string{"Authorization": "Bearer t"}, nil)
	}()
	var got exchange
	select {
	case got = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("no response while the optional call hung: its timeout was not applied")
	}
	if got.status != http.StatusOK {
		t.Fatalf("status = %d (%s)", got.status, got.body)
	}
	if p := got.header.Get("Portico-Partial"); p != "recs" {
		t.Errorf("Portico-Partial = %q, want recs", p)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(got.body), &doc); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(doc["_partial"]) != "[recs]" {
		t.Errorf("_partial = %v", doc["_partial"])
	}
	if _, ok := doc["recommendations"]; ok {
		t.Errorf("the failed optional call left a member")
	}
	if orders, ok := doc["orders"].([]any); !ok {
		t.Errorf("orders = %v, want a list", doc["orders"])
	} else if got, want := len(orders), 2; got != want {
		t.Errorf("%d orders, want %d", got, want)
	}
	user, _ := doc["user"].(map[string]any)
	if user["auth"] != "Bearer t" {
		t.Errorf("user = %v: the Authorization header was not forwarded", user)
	}
	if user["path"] != "/users/a%2Fb" {
		t.Errorf("user path = %v: the path parameter was not escaped into the URL", user["path"])
	}
	if doc["path"] != "/root" {
		t.Errorf("the root call's members were not merged into the root: %v", doc)
	}
	if got, want := users.Calls.Load(), int64(2); got != want {
		t.Errorf("users calls = %d, want %d", got, want)
	}
	if got, want := orders.Calls.Load(), int64(1); got != want {
		t.Errorf("orders calls = %d, want %d", got, want)
	}
}

func TestComposeFailsWhenARequiredCallFails(t *testing.T) {
	t.Parallel()
	ok := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"a":1}`) })
	broken := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	notJSON := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<html>") })
	hang := newCountingOrigin(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	tests := []struct {
		name     string
		call     middleware.ComposeCall
		wantCall string
	}{
		{name: "a 5xx from a required call is a 502", call: middleware.ComposeCall{Name: "billing", Key: "b", URL: broken.URL}, wantCall: "billing"},
		{name: "a required call that answers HTML is a 502", call: middleware.ComposeCall{Name: "html", Key: "h", URL: notJSON.URL}, wantCall: "html"},
		{name: "a required call past its timeout is a 502", call: middleware.ComposeCall{
			Name:    "slow",
			Key:     "s",
			URL:     hang.URL,
			Timeout: 100 * time.Millisecond,
		}, wantCall: "slow"},
		{name: "a required root call that is not an object is a 502", call: middleware.ComposeCall{Name: "rootless", URL: notJSON.URL}, wantCall: "rootless"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(middleware.Compose(middleware.ComposeConfig{Calls: []middleware.ComposeCall{
				{Name: "ok", Key: "ok", URL: ok.URL},
				tt.call,
			}}))
			defer srv.Close()
			got := fetch(t, http.MethodGet, srv.URL, nil, nil)
			if want := http.StatusBadGateway; got.status != want {
				t.Fatalf("status = %d, want %d", got.status, want)
			}
			if got, want := got.header.Get("Content-Type"), "application/problem+json"; got != want {
				t.Fatalf("Content-Type = %q, want %q", got, want)
			}
			var doc map[string]any
			_ = json.Unmarshal([]byte(got.body), &doc)
			if doc["call"] != tt.wantCall {
				t.Errorf("problem names call %v, want %s", doc["call"], tt.wantCall)
			}
			if strings.Contains(got.body, "127.0.0.1") {
				t.Errorf("the problem leaks an upstream address: %s", got.body)
			}
		})
	}
}

func TestComposeRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  middleware.ComposeConfig
		want string
	}{
		{name: "no calls", cfg: middleware.ComposeConfig{}, want: "Calls is empty"},
		{name: "a call without a name", cfg: middleware.ComposeConfig{Calls: []middleware.ComposeCall{{URL: "http://x"}}}, want: "Calls[0].Name"},
		{name: "two calls with one name", cfg: middleware.ComposeConfig{Calls: []middleware.ComposeCall{{Name: "a", URL: "http://x"}, {Name: "a", URL: "http://y"}}}, want: "used twice"},
		{name: "a call without a target", cfg: middleware.ComposeConfig{Calls: []middleware.ComposeCall{{Name: "a"}}}, want: "needs a URL"},
		{name: "a URL template with an unknown variable", cfg: middleware.ComposeConfig{Calls: []middleware.ComposeCall{{Name: "a", URL: "http://x/{nope}"}}}, want: "Calls[0].URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				wantPanic(t, recover(), "portico/middleware: Compose", tt.want)
			}()
			middleware.Compose(tt.cfg)
		})
	}
}
