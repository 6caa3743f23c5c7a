package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	strict := middleware.CORSConfig{
		AllowedOrigins:   []string{"https://app.example.com", "https://*.example.org"},
		AllowedMethods:   []string{http.MethodPut, http.MethodDelete},
		AllowedHeaders:   []string{"Content-Type", "Authorization"},
		ExposedHeaders:   []string{"X-Request-ID", "ETag"},
		AllowCredentials: true,
		MaxAge:           10 * time.Minute,
	}
	preflight := func(origin, method, headers string, extra ...string) []string {
		h := []string{"Origin", origin, "Access-Control-Request-Method", method}
		if headers != "" {
			h = append(h, "Access-Control-Request-Headers", headers)
		}
		return append(h, extra...)
	}
	tests := []struct {
		name        string
		cfg         middleware.CORSConfig
		method      string
		headers     []string
		wantStatus  int
		wantHandler bool
		want        map[string]string // response headers; "" means absent
	}{
		{
			name:       "an allowed preflight is answered with 204 and the allow headers",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("https://app.example.com", "PUT", "content-type, authorization"),
			wantStatus: 204,
			want: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example.com",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods":     "DELETE, GET, HEAD, POST, PUT",
				"Access-Control-Allow-Headers":     "content-type, authorization",
				"Access-Control-Max-Age":           "600",
				"Vary":                             "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
			},
		},
		{
			name:       "a preflight from a disallowed origin gets a 403 problem without allow headers",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("https://evil.example", "PUT", ""),
			wantStatus: 403,
			want:       map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
		},
		{
			name:       "a preflight for a disallowed method gets a 403 problem",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("https://app.example.com", "PATCH", ""),
			wantStatus: 403,
			want:       map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name:       "a preflight for a disallowed header gets a 403 problem",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("https://app.example.com", "PUT", "x-secret"),
			wantStatus: 403,
			want:       map[string]string{"Access-Control-Allow-Methods": ""},
		},
		{
			name:       "a subdomain matches a wildcard pattern",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("https://a.b.example.org", "DELETE", ""),
			wantStatus: 204,
			want:       map[string]string{"Access-Control-Allow-Origin": "https://a.b.example.org"},
		},
		{
			name:       "the bare domain does not match a wildcard pattern",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("https://example.org", "DELETE", ""),
			wantStatus: 403,
		},
		{
			name:       "a lookalike domain does not match a wildcard pattern",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("https://evilexample.org", "DELETE", ""),
			wantStatus: 403,
		},
		{
			name:       "another scheme does not match",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("http://app.example.com", "PUT", ""),
			wantStatus: 403,
		},
		{
			name:       "origins compare without case",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("HTTPS://APP.example.com", "PUT", ""),
			wantStatus: 204,
		},
		{
			name:        "an actual request from an allowed origin gets the origin, credentials and exposed headers",
			cfg:         strict,
			method:      http.MethodGet,
			headers:     []string{"Origin", "https://app.example.com"},
			wantStatus:  200,
			wantHandler: true,
			want: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example.com",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Expose-Headers":    "X-Request-ID, ETag",
				"Vary":                             "Origin",
			},
		},
		{
			name:        "an actual request from a disallowed origin reaches the handler without CORS headers",
			cfg:         strict,
			method:      http.MethodGet,
			headers:     []string{"Origin", "https://evil.example"},
			wantStatus:  200,
			wantHandler: true,
			want:        map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Vary": "Origin"},
		},
		{
			name:        "a request without Origin still varies on Origin when origins are listed",
			cfg:         strict,
			method:      http.MethodGet,
			wantStatus:  200,
			wantHandler: true,
			want:        map[string]string{"Vary": "Origin", "Access-Control-Allow-Origin": ""},
		},
		{
			name:        "an OPTIONS request that is not a preflight reaches the handler",
			cfg:         strict,
			method:      http.MethodOptions,
			headers:     []string{"Origin", "https://app.example.com"},
			wantStatus:  200,
			wantHandler: true,
		},
		{
			name:        "the zero config answers any origin with a star and no Vary",
			method:      http.MethodGet,
			headers:     []string{"Origin", "https://anyone.example"},
			wantStatus:  200,
			wantHandler: true,
			want:        map[string]string{"Access-Control-Allow-Origin": "*", "Vary": "", "Access-Control-Allow-Credentials": ""},
		},
		{
			name:       "the zero config allows a preflight for a simple method and header",
			method:     http.MethodOptions,
			headers:    preflight("https://anyone.example", "POST", "content-type"),
			wantStatus: 204,
			want:       map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Max-Age": ""},
		},
		{
			name:       "a private network preflight is refused by default",
			cfg:        strict,
			method:     http.MethodOptions,
			headers:    preflight("https://app.example.com", "PUT", "", "Access-Control-Request-Private-Network", "true"),
			wantStatus: 403,
		},
		{
			name:       "a private network preflight is allowed when enabled",
			cfg:        middleware.CORSConfig{AllowedOrigins: []string{"https://app.example.com"}, AllowPrivateNetwork: true},
			method:     http.MethodOptions,
			headers:    preflight("https://app.example.com", "GET", "", "Access-Control-Request-Private-Network", "true"),
			wantStatus: 204,
			want: map[string]string{
				"Access-Control-Allow-Private-Network": "true",
				"Vary":                                 "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network",
			},
		},
		{
			name:       "any header is allowed with a star",
			cfg:        middleware.CORSConfig{AllowedHeaders: []string{"*"}},
			method:     http.MethodOptions,
			headers:    preflight("https://x.example", "GET", "x-anything"),
			wantStatus: 204,
			want:       map[string]string{"Access-Control-Allow-Headers": "x-anything"},
		},
		{
			name:       "a negative max age disables preflight caching",
			cfg:        middleware.CORSConfig{MaxAge: -1},
			method:     http.MethodOptions,
			headers:    preflight("https://x.example", "GET", ""),
			wantStatus: 204,
			want:       map[string]string{"Access-Control-Max-Age": "0"},
		},
		{
			name:       "the null origin is refused unless listed",
			cfg:        middleware.CORSConfig{AllowedOrigins: []string{"https://app.example.com"}},
			method:     http.MethodOptions,
			headers:    preflight("null", "GET", ""),
			wantStatus: 403,
		},
		{
			name: "an AllowOrigin func admits what the list does not",
			cfg: middleware.CORSConfig{
				AllowedOrigins: []string{"https://app.example.com"},
				AllowOrigin:    func(o string) bool { return strings.HasSuffix(o, ".partner.test") },
			},
			method:      http.MethodGet,
			headers:     []string{"Origin", "https://x.partner.test"},
			wantStatus:  200,
			wantHandler: true,
			want:        map[string]string{"Access-Control-Allow-Origin": "https://x.partner.test"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reached := make(chan bool, 1)
			srv := serve(t, middleware.CORS(tt.cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached <- true })))
			res, body := do(t, srv, newRequest(t, tt.method, srv.URL, nil, tt.headers...))
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", res.StatusCode, tt.wantStatus, body)
			}
			if got := len(reached) == 1; got != tt.wantHandler {
				t.Fatalf("handler reached = %v, want %v", got, tt.wantHandler)
			}
			for k, v := range tt.want {
				if got := strings.Join(res.Header.Values(k), ", "); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tt.wantStatus == 403 {
				if doc := problemDoc(t, res, body); !strings.HasPrefix(doc["detail"].(string), "CORS: ") {
					t.Fatalf("problem detail %q does not say what was refused", doc["detail"])
				}
			}
		})
	}
}

func TestCORSPanicsOnBadWiring(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  middleware.CORSConfig
		want string
	}{
		{name: "credentials with the star origin are refused", cfg: middleware.CORSConfig{AllowedOrigins: []string{"*"}, AllowCredentials: true}, want: "AllowCredentials"},
		{name: "credentials with the default any-origin are refused", cfg: middleware.CORSConfig{AllowCredentials: true}, want: "AllowCredentials"},
		{name: "an origin without a scheme is refused", cfg: middleware.CORSConfig{AllowedOrigins: []string{"example.com"}}, want: "scheme://host"},
		{name: "an origin with a path is refused", cfg: middleware.CORSConfig{AllowedOrigins: []string{"https://example.com/app"}}, want: "scheme://host"},
		{name: "a star inside a host is refused", cfg: middleware.CORSConfig{AllowedOrigins: []string{"https://api.*.example.com"}}, want: "leading"},
		{name: "a star method is refused", cfg: middleware.CORSConfig{AllowedMethods: []string{"*"}}, want: "AllowedMethods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				wantPanic(t, recover(), "portico/middleware: CORS", tt.want)
			}()
			middleware.CORS(tt.cfg)
		})
	}
}

func FuzzCORSPreflight(f *testing.F) {
	f.Add("https://a.example.org", "PUT", "content-type, authorization")
	f.Add("https://example.org", "GET", "")
	f.Add("HTTPS://A.EXAMPLE.ORG:443", "DELETE", ", ,x-y")
	f.Add("null", "OPTIONS", "*")
	h := middleware.CORS(middleware.CORSConfig{
		AllowedOrigins:   []string{"https://app.example.com", "https://*.example.org"},
		AllowedMethods:   []string{http.MethodPut},
		AllowedHeaders:   []string{"Content-Type", "Authorization"},
		AllowCredentials: true,
	})(http.NotFoundHandler())
	f.Fuzz(func(t *testing.T, origin, method, headers string) {
		if method == "" {
			return
		}
		req := httptest.NewRequest(http.MethodOptions, "/", nil)
		req.Header["Origin"] = []string{origin}
		req.Header["Access-Control-Request-Method"] = []string{method}
		req.Header["Access-Control-Request-Headers"] = []string{headers}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		acao := rec.Header().Get("Access-Control-Allow-Origin")
		switch rec.Code {
		case http.StatusNoContent:
			if acao != origin {
				t.Fatalf("allowed preflight answered origin %q for %q", acao, origin)
			}
			o := strings.ToLower(origin)
			if o != "https://app.example.com" && !isExampleOrgSubdomain(o) {
				t.Fatalf("origin %q was allowed", origin)
			}
		case http.StatusForbidden:
			if acao != "" {
				t.Fatalf("refused preflight carries Access-Control-Allow-Origin %q", acao)
			}
		default:
			t.Fatalf("preflight status %d, want 204 or 403", rec.Code)
		}
		if acao == "*" {
			t.Fatal("a star origin was sent with credentials")
		}
	})
}

// isExampleOrgSubdomain reports whether a lower-cased origin matches the
// allowed pattern https://*.example.org.
func isExampleOrgSubdomain(o string) bool {
	host, ok := strings.CutPrefix(o, "https://")
	return ok && strings.HasSuffix(host, ".example.org")
}
