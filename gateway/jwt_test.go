package gateway_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
)

const hmacSecret = "a-test-secret-that-is-32-bytes-long!"

// hs256 signs claims as a compact JWT.
func hs256(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(hmacSecret))
	mac.Write([]byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestTokenAuthenticatorsFromAConfigFile(t *testing.T) {
	t.Parallel()
	up, _ := countingServer(t, "app")
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("token") != "opaque-good" {
			_, _ = w.Write([]byte(`{"active":false}`))
			return
		}
		_, _ = w.Write([]byte(`{"active":true,"sub":"partner","scope":"orders:read","exp":` + jsonInt(time.Now().Add(time.Hour).Unix()) + `}`))
	}))
	t.Cleanup(idp.Close)
	yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
auth_methods:
  - name: sso
    jwt:
      issuer: https://login.test/
      audiences: [api]
      algorithms: [HS256]
      secrets: {"": "${SECRET}"}
      claims: {tenant: org}
  - name: partners
    introspection: {url: ` + idp.URL + `}
routes:
  - path: /orders
    upstream: app
    policy: {auth: {methods: [sso, partners], scopes: [orders:read]}}
`
	cfg, err := config.Parse("gw.yaml", []byte(yaml), func(k string) (string, bool) { return hmacSecret, k == "SECRET" })
	if err != nil {
		t.Fatal(err)
	}
	g, err := cfg.Build(gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	url := httptestServer(t, g)
	exp := time.Now().Add(time.Hour).Unix()
	good := hs256(t, map[string]any{"iss": "https://login.test/", "aud": "api", "sub": "carol", "org": "acme", "scope": "orders:read", "exp": exp})
	for _, c := range []struct {
		name, token, consumer string
		want                  int
	}{
		{
			name:     "a signed token from the issuer identifies its subject",
			token:    good,
			consumer: "carol",
			want:     http.StatusOK,
		},
		{
			name:     "a token for another audience is refused",
			token:    hs256(t, map[string]any{"iss": "https://login.test/", "aud": "other", "sub": "carol", "scope": "orders:read", "exp": exp}),
			consumer: "",
			want:     http.StatusUnauthorized,
		},
		{
			name:     "a token without the scope is forbidden",
			token:    hs256(t, map[string]any{"iss": "https://login.test/", "aud": "api", "sub": "carol", "exp": exp}),
			consumer: "",
			want:     http.StatusForbidden,
		},
		{
			name:     "an opaque token the endpoint calls active is accepted",
			token:    "opaque-good",
			consumer: "partner",
			want:     http.StatusOK,
		},
		{
			name:     "an opaque token the endpoint calls inactive is refused",
			token:    "opaque-bad",
			consumer: "",
			want:     http.StatusUnauthorized,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, e := getWith(t, url+"/orders", "Authorization", "Bearer "+c.token)
			if got, want := resp.StatusCode, c.want; got != want {
				t.Errorf("status %d, want %d", got, want)
			}
			if got, want := e.Header.Get("X-Consumer-Id"), c.consumer; got != want {
				t.Errorf("consumer %q, want %q", got, want)
			}
		})
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
