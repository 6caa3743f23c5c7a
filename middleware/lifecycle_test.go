package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

func TestLifecycleHeadersAndRetirement(t *testing.T) {
	t.Parallel()
	deprecated := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	sunset := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		cfg         middleware.LifecycleConfig
		now         time.Time
		wantStatus  int
		wantHeaders map[string]string
		wantLinks   []string
	}{
		{
			name:       "a deprecation announced ahead of its date is sent before it",
			cfg:        middleware.LifecycleConfig{Deprecated: deprecated, Link: "https://docs.example/migrate"},
			now:        deprecated.Add(-24 * time.Hour),
			wantStatus: 200,
			wantHeaders: map[string]string{
				"Deprecation": fmt.Sprintf("@%d", deprecated.Unix()),
				"Sunset":      "",
			},
			wantLinks: []string{`<https://docs.example/migrate>; rel="deprecation"; type="text/html"`},
		},
		{
			name: "a deprecated route with a sunset date carries both headers and links",
			cfg: middleware.LifecycleConfig{
				Deprecated: deprecated,
				Sunset:     sunset,
				Link:       "https://docs.example/migrate",
				Successor:  "/v2/orders",
			},
			now:        deprecated.Add(time.Hour),
			wantStatus: 200,
			wantHeaders: map[string]string{
				"Deprecation": fmt.Sprintf("@%d", deprecated.Unix()),
				"Sunset":      "Thu, 01 Oct 2026 00:00:00 GMT",
			},
			wantLinks: []string{
				`<https://docs.example/migrate>; rel="deprecation"; type="text/html"`,
				`<https://docs.example/migrate>; rel="sunset"; type="text/html"`,
				`</v2/orders>; rel="successor-version"`,
			},
		},
		{
			name:        "a separate sunset policy link is used for rel=sunset",
			cfg:         middleware.LifecycleConfig{Sunset: sunset, SunsetLink: "https://docs.example/policy"},
			now:         deprecated,
			wantStatus:  200,
			wantHeaders: map[string]string{"Deprecation": ""},
			wantLinks:   []string{`<https://docs.example/policy>; rel="sunset"; type="text/html"`},
		},
		{
			name:       "a retired route answers 410 naming its successor",
			cfg:        middleware.LifecycleConfig{Deprecated: deprecated, Sunset: sunset, Successor: "https://api.example/v2/orders"},
			now:        sunset,
			wantStatus: http.StatusGone,
			wantLinks:  []string{`<https://api.example/v2/orders>; rel="successor-version"`},
		},
		{
			name:       "a route without lifecycle dates is untouched",
			cfg:        middleware.LifecycleConfig{},
			now:        sunset,
			wantStatus: 200,
			wantHeaders: map[string]string{
				"Deprecation": "", "Sunset": "", "Link": "",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newCountingOrigin(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "orders") })
			clock := newManualClock()
			clock.Advance(tt.now.Sub(clock.Now()))
			tt.cfg.Now = clock.Now
			gw := frontFor(t, o, middleware.Lifecycle(tt.cfg))
			got := fetch(t, http.MethodGet, gw.URL+"/v1/orders", nil, nil)
			if got.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", got.status, tt.wantStatus)
			}
			for k, v := range tt.wantHeaders {
				if g := got.header.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
			if links := got.header.Values("Link"); strings.Join(links, "\n") != strings.Join(tt.wantLinks, "\n") {
				t.Errorf("Link =\n%s\nwant\n%s", strings.Join(links, "\n"), strings.Join(tt.wantLinks, "\n"))
			}
			if tt.wantStatus == http.StatusGone {
				var doc map[string]any
				if err := json.Unmarshal([]byte(got.body), &doc); err != nil {
					t.Fatal(err)
				}
				if got, want := doc["successor"], tt.cfg.Successor; got != want {
					t.Errorf("problem successor = %v, want %q", got, want)
				}
				if detail := doc["detail"].(string); !strings.Contains(detail, tt.cfg.Successor) {
					t.Errorf("problem detail %q does not name the successor %q", detail, tt.cfg.Successor)
				}
				if o.Calls.Load() != 0 {
					t.Errorf("a retired route reached the upstream")
				}
			}
		})
	}
}

func TestLifecycleRejectsInconsistentConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  middleware.LifecycleConfig
		want string
	}{
		{name: "a sunset before the deprecation", cfg: middleware.LifecycleConfig{Deprecated: time.Unix(200, 0), Sunset: time.Unix(100, 0)}, want: "Sunset"},
		{name: "a link with a space", cfg: middleware.LifecycleConfig{Link: "https://x/a b"}, want: "LifecycleConfig.Link"},
		{name: "a successor with angle brackets", cfg: middleware.LifecycleConfig{Successor: "</v2>"}, want: "LifecycleConfig.Successor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				wantPanic(t, recover(), "portico/middleware:", tt.want)
			}()
			middleware.Lifecycle(tt.cfg)
		})
	}
}
