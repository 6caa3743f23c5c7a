package entra_test

import (
	"context"
	"fmt"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient/entra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeEntra is a token endpoint that records the forms it got and issues
// numbered tokens lasting an hour, as Entra ID's v2 endpoint answers.
type fakeEntra struct {
	srv   *httptest.Server
	mu    sync.Mutex
	forms []url.Values
	paths []string
	fail  string // an error code to answer with
}

func newFakeEntra(t *testing.T) *fakeEntra {
	f := &fakeEntra{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		if r.Method == http.MethodGet {
			form = r.URL.Query()
			form.Set("metadata", r.Header.Get("Metadata"))
		}
		f.mu.Lock()
		f.forms, f.paths = append(f.forms, form), append(f.paths, r.URL.Path)
		n, fail := len(f.forms), f.fail
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if fail != "" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":%q,"error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`, fail)
			return
		}
		if r.Method == http.MethodGet { // the identity endpoint sends strings
			fmt.Fprintf(w, `{"access_token":"mi-token-%d","expires_in":"86399","expires_on":"1700086399","resource":%q,"token_type":"Bearer"}`, n, form.Get("resource"))
			return
		}
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"entra-token-%d"}`, n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEntra) requests() ([]url.Values, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...), append([]string(nil), f.paths...)
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestAClientSecretTokenIsKeptUntilItNearlyExpires(t *testing.T) {
	t.Parallel()
	f := newFakeEntra(t)
	c := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	ts := entra.ClientSecret("contoso-tenant", "app-id", "s3cret", entra.WithAuthorityHost(f.srv.URL), entra.WithClock(c.Now))
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{
		{0, "entra-token-1"},
		{50 * time.Minute, "entra-token-1"}, // 59m59s lifetime, refreshed 5m early
		{5 * time.Minute, "entra-token-2"},
	} {
		c.Add(step.advance)
		tok, err := ts.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tok != step.want {
			t.Errorf("after %v more: token %q, want %q", step.advance, tok, step.want)
		}
	}
	forms, paths := f.requests()
	if got, want := paths[0], "/contoso-tenant/oauth2/v2.0/token"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
	for k, want := range map[string]string{"grant_type": "client_credentials", "client_id": "app-id", "client_secret": "s3cret",
		"scope": "https://cognitiveservices.azure.com/.default"} {
		if got := forms[0].Get(k); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}
}

func TestARefusedGrantSaysWhy(t *testing.T) {
	t.Parallel()
	f := newFakeEntra(t)
	f.fail = "invalid_client"
	_, err := entra.ClientSecret("t", "app", "wrong", entra.WithAuthorityHost(f.srv.URL)).Token(context.Background())
	testkit.WantError(t, err, "invalid_client")
	testkit.WantError(t, err, "AADSTS7000215")
}

func TestWorkloadIdentityReadsTheRotatedAssertionAtEachFetch(t *testing.T) {
	t.Parallel()
	f := newFakeEntra(t)
	c := &clock{now: time.Now()}
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(file, []byte("eyJ.first.sig\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := entra.WorkloadIdentity("tenant", "client", file, entra.WithAuthorityHost(f.srv.URL), entra.WithClock(c.Now), entra.WithScope("api://custom/.default"))
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("eyJ.second.sig"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	forms, _ := f.requests()
	for i, want := range []string{"eyJ.first.sig", "eyJ.second.sig"} {
		if got := forms[i].Get("client_assertion"); got != want {
			t.Errorf("fetch %d: assertion %q, want %q", i+1, got, want)
		}
	}
	if got, want := forms[0].Get("client_assertion_type"), "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"; got != want {
		t.Errorf("assertion type %q, want %q", got, want)
	}
	if got, want := forms[0].Get("scope"), "api://custom/.default"; got != want {
		t.Errorf("scope %q, want %q", got, want)
	}
	if got := forms[0].Get("client_secret"); got != "" {
		t.Errorf("a client secret %q was sent", got)
	}
}

func TestAManagedIdentityAsksTheMetadataService(t *testing.T) {
	t.Parallel()
	f := newFakeEntra(t)
	tok, err := entra.ManagedIdentity("user-assigned-id", entra.WithIdentityEndpoint(f.srv.URL+"/metadata/identity/oauth2/token")).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok, "mi-token-1"; got != want {
		t.Errorf("token %q, want %q", got, want)
	}
	forms, _ := f.requests()
	for k, want := range map[string]string{"resource": "https://cognitiveservices.azure.com", "client_id": "user-assigned-id",
		"api-version": "2018-02-01", "metadata": "true"} {
		if got := forms[0].Get(k); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}
}

func TestAMissingFederatedTokenFileFailsTheFetch(t *testing.T) {
	t.Parallel()
	_, err := entra.WorkloadIdentity("t", "c", "/nonexistent/token").Token(context.Background())
	testkit.WantError(t, err, "federated token file")
}
