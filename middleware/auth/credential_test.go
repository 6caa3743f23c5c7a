package auth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

const credKey = "k-0123456789abcdef"

// keyAuth returns an API key authenticator holding credKey for alice,
// reading the default headers and the api_key query parameter.
func keyAuth() *auth.APIKeyAuth {
	return auth.NewAPIKeyAuth(auth.APIKeyConfig{
		Keys:      auth.NewMemoryAPIKeys(auth.APIKey{ID: "a1", Consumer: "alice", Hash: auth.HashAPIKey(credKey)}),
		Consumers: middleware.NewMemoryConsumers(&middleware.Consumer{ID: "alice"}),
		Query:     "api_key",
	})
}

// seen is what a handler saw of a request.
type seen struct {
	header     http.Header
	query, uri string
}

// serveSeen runs r through h and returns what the innermost handler saw.
func serveSeen(t *testing.T, mw func(http.Handler) http.Handler, r *http.Request) seen {
	t.Helper()
	var s seen
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s = seen{header: r.Header.Clone(), query: r.URL.RawQuery, uri: r.RequestURI}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	return s
}

func TestAuthenticateStripsTheCredentialWhenAsked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		target    string
		header    [][2]string
		wantGone  string // header the handler must not see
		wantKept  [2]string
		wantQuery string
	}{
		{
			name:      "a key in X-API-Key",
			target:    "/x?a=1",
			header:    [][2]string{{"X-API-Key", credKey}, {"Authorization", "Basic YTpi"}},
			wantGone:  "X-Api-Key",
			wantKept:  [2]string{"Authorization", "Basic YTpi"},
			wantQuery: "a=1",
		},
		{
			name:     "a key as a bearer token",
			target:   "/x",
			header:   [][2]string{{"Authorization", "Bearer " + credKey}, {"X-API-Key", "other"}},
			wantGone: "Authorization",
			wantKept: [2]string{"X-Api-Key", "other"},
		},
		{
			name:      "a key in the query",
			target:    "/x?a=1&api_key=" + credKey + "&b=%2F",
			header:    [][2]string{{"X-Other", "v"}},
			wantKept:  [2]string{"X-Other", "v"},
			wantQuery: "a=1&b=%2F",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			for _, h := range tt.header {
				r.Header.Add(h[0], h[1])
			}
			before := r.Header.Clone()
			s := serveSeen(t, auth.New(auth.Config{
				Authenticators: []auth.Authenticator{keyAuth()}, StripCredential: true}), r)
			if tt.wantGone != "" {
				if got := s.header[tt.wantGone]; got != nil {
					t.Errorf("the handler saw %s: %q, want it removed", tt.wantGone, got)
				}
			}
			if got, want := s.header.Get(tt.wantKept[0]), tt.wantKept[1]; got != want {
				t.Errorf("the handler saw %s: %q, want %q", tt.wantKept[0], got, want)
			}
			if got, want := s.query, tt.wantQuery; got != want {
				t.Errorf("the handler saw query %q, want %q", got, want)
			}
			if want := "/x"; tt.wantQuery != "" {
				want += "?" + tt.wantQuery
				if got := s.uri; got != want {
					t.Errorf("the handler saw RequestURI %q, want %q", got, want)
				}
			}
			if got, want := len(r.Header), len(before); got != want {
				t.Errorf("the caller's request has %d headers after serving, want %d: it was changed", got, want)
			}
		})
	}
}

func TestAuthenticateLeavesTheCredentialByDefault(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/x?api_key="+credKey, nil)
	s := serveSeen(t, auth.New(auth.Config{Authenticators: []auth.Authenticator{keyAuth()}}), r)
	if got, want := s.query, "api_key="+credKey; got != want {
		t.Errorf("the handler saw query %q, want %q", got, want)
	}
}

// outbound runs r through Authenticate and returns a copy of the request
// the handler got, with StripCredential applied, as a proxy would send it.
func outbound(t *testing.T, authn auth.Authenticator, r *http.Request) *http.Request {
	t.Helper()
	var out *http.Request
	h := auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}, Anonymous: true})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			out = r.Clone(r.Context())
			auth.StripCredential(out)
		}))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if out == nil {
		t.Fatal("the handler did not run")
	}
	return out
}

func TestStripCredentialRemovesOnlyWhatTheAuthenticatorRead(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	jwtAuth := auth.NewJWTAuth(auth.JWTConfig{Algorithms: []string{"HS256"}, Keys: map[string]any{"": k.hmac}})
	token := sign(t, jwt.SigningMethodHS256, k.hmac, "", claims(time.Now()))
	noLocator := auth.AuthenticatorFunc(func(r *http.Request) (*middleware.Consumer, error) {
		if r.Header.Get("Authorization") == "" {
			return nil, auth.ErrNoCredentials
		}
		return &middleware.Consumer{ID: "custom"}, nil
	})
	tests := []struct {
		name   string
		auth   auth.Authenticator
		header [][2]string
		want   http.Header
	}{
		{
			"a JWT's Authorization header goes",
			jwtAuth,
			[][2]string{{"Authorization", "Bearer " + token}, {"Accept", "a/b"}},
			http.Header{"Accept": {"a/b"}},
		},
		{
			"a bearer value that is not a JWT is not the JWT method's",
			jwtAuth,
			[][2]string{{"Authorization", "Bearer opaque"}},
			http.Header{"Authorization": {"Bearer opaque"}},
		},
		{
			"an authenticator that cannot locate its credential strips nothing",
			noLocator,
			[][2]string{{"Authorization", "Bearer x"}},
			http.Header{"Authorization": {"Bearer x"}},
		},
		{
			"a repeated key header loses only the values equal to the key",
			keyAuth(),
			[][2]string{{"X-API-Key", credKey}, {"X-API-Key", "second"}},
			http.Header{"X-Api-Key": {"second"}},
		},
		{
			"a request without a credential keeps its headers",
			keyAuth(),
			[][2]string{{"X-Other", "v"}},
			http.Header{"X-Other": {"v"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			for _, h := range tt.header {
				r.Header.Add(h[0], h[1])
			}
			out := outbound(t, tt.auth, r)
			if got, want := len(out.Header), len(tt.want); got != want {
				t.Errorf("the outbound request has headers %q, want %q", out.Header, tt.want)
			}
			for k, want := range tt.want {
				if got := out.Header[k]; !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestStripCredentialKeepsAValueAStagePutInItsPlace(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.Header.Set("Authorization", "Bearer "+credKey)
	var out *http.Request
	h := auth.New(auth.Config{Authenticators: []auth.Authenticator{keyAuth()}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			out = r.Clone(r.Context())
			out.Header.Set("Authorization", "Basic dXA6cHc=")
			auth.StripCredential(out)
		}))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got, want := out.Header.Get("Authorization"), "Basic dXA6cHc="; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
}

func TestStripCredentialWithoutAuthenticationDoesNothing(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/x?api_key="+credKey, nil)
	r.Header.Set("X-API-Key", credKey)
	auth.StripCredential(r)
	if got, want := r.Header.Get("X-Api-Key"), credKey; got != want {
		t.Errorf("X-API-Key = %q, want %q", got, want)
	}
	if got, want := r.URL.RawQuery, "api_key="+credKey; got != want {
		t.Errorf("query = %q, want %q", got, want)
	}
}

// locatedAt authenticates every request and says its credential is the
// query parameter name with the given value.
type locatedAt struct{ name, value string }

func (l locatedAt) Authenticate(*http.Request) (*middleware.Consumer, error) {
	return &middleware.Consumer{ID: "x"}, nil
}

func (l locatedAt) LocateCredential(*http.Request) (auth.CredentialSource, bool) {
	return auth.CredentialSource{Query: l.name, Value: l.value}, true
}

func FuzzStripCredentialQuery(f *testing.F) {
	f.Add("a=1&api_key=k&b=2", "api_key", "k")
	f.Add("api_key=k&api_key=k&api_key=j", "api_key", "k")
	f.Add("a%20b=c+d&x=%2F;y=1&&=", "a b", "c d")
	f.Add("k=%zz&k=v", "k", "v")
	f.Fuzz(func(t *testing.T, raw, name, value string) {
		u, err := url.Parse("http://h/p")
		if err != nil {
			t.Fatal(err)
		}
		u.RawQuery = raw
		r := httptest.NewRequest(http.MethodGet, "/p", nil)
		r.URL = u
		out := outbound(t, locatedAt{name, value}, r)
		before, _ := url.ParseQuery(raw)
		after, _ := url.ParseQuery(out.URL.RawQuery)
		for k, vs := range before {
			want := vs
			if k == name {
				want = slices.DeleteFunc(slices.Clone(vs), func(v string) bool { return v == value })
			}
			if got := after[k]; len(want) > 0 && !slices.Equal(got, want) {
				t.Errorf("query %q: %q = %q after stripping %s=%s, want %q", raw, k, got, name, value, want)
			}
		}
		if slices.Contains(after[name], value) {
			t.Errorf("query %q still has %s=%s after stripping: %q", raw, name, value, out.URL.RawQuery)
		}
		if len(after) > len(before) {
			t.Errorf("query %q gained parameters: %q", raw, out.URL.RawQuery)
		}
	})
}
