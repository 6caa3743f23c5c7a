package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/auth"
)

// testCA is a certificate authority for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a leaf certificate for a client or a server.
func (ca *testCA) issue(t *testing.T, cn string, serial int64, client bool, uris ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	for _, u := range uris {
		pu, _ := url.Parse(u)
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	serverCA, clientCA, otherCA := newCA(t, "server CA"), newCA(t, "client CA"), newCA(t, "other CA")
	reg := middleware.NewMemoryConsumers(
		&middleware.Consumer{ID: "spiffe://example.test/billing", Tenant: "finance"},
		&middleware.Consumer{ID: "reporting"},
	)
	authn := auth.NewClientCertAuth(auth.ClientCertConfig{Consumers: reg})
	start := func(require bool) *httptest.Server {
		srv := httptest.NewUnstartedServer(auth.New(auth.Config{Authenticators: []auth.Authenticator{authn}})(whoami))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
		srv.TLS = auth.MutualTLSConfig(clientCA.pool, require)
		srv.TLS.Certificates = []tls.Certificate{serverCA.issue(t, "gateway", 2, false)}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	required, optional := start(true), start(false)
	tests := []struct {
		name       string
		srv        *httptest.Server
		cert       *tls.Certificate
		wantErr    bool // refused at the handshake
		wantStatus int
		wantID     string
	}{
		{
			name:       "a good certificate maps its URI SAN to the consumer",
			srv:        required,
			cert:       certPtr(clientCA.issue(t, "billing", 10, true, "spiffe://example.test/billing")),
			wantStatus: 200,
			wantID:     "spiffe://example.test/billing",
		},
		{
			name:       "a good certificate without SANs maps its common name",
			srv:        required,
			cert:       certPtr(clientCA.issue(t, "reporting", 11, true)),
			wantStatus: 200,
			wantID:     "reporting",
		},
		{name: "no certificate is refused at the handshake when required", srv: required, wantErr: true},
		{
			name:    "a certificate from another CA is refused at the handshake",
			srv:     required,
			cert:    certPtr(otherCA.issue(t, "reporting", 12, true)),
			wantErr: true,
		},
		{
			name:       "a certificate from another CA is refused at the handshake or with 401 when optional",
			srv:        optional,
			cert:       certPtr(otherCA.issue(t, "reporting", 13, true)),
			wantErr:    true,
			wantStatus: 401,
		},
		{name: "no certificate gets 401 when certificates are optional", srv: optional, wantStatus: 401},
		{
			name:       "a valid certificate for an unknown consumer gets 401",
			srv:        optional,
			cert:       certPtr(clientCA.issue(t, "stranger", 14, true)),
			wantStatus: 401,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := &tls.Config{RootCAs: serverCA.pool, MinVersion: tls.VersionTLS12}
			if tt.cert != nil {
				cfg.Certificates = []tls.Certificate{*tt.cert}
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 30 * time.Second}
			defer client.CloseIdleConnections()
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, tt.srv.URL, nil)
			res, err := client.Do(req)
			if tt.wantErr {
				if err == nil && res.StatusCode == tt.wantStatus {
					res.Body.Close()
					return // the client withheld a certificate the server's CA list did not name
				}
				if err == nil {
					res.Body.Close()
					t.Fatalf("request succeeded with status %d, want a handshake failure", res.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body := readAll(t, res)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", res.StatusCode, tt.wantStatus, body)
			}
			if tt.wantID != "" {
				c := consumerOf(t, body)
				if got, want := (who{ID: c.ID, Method: c.Method}), (who{ID: tt.wantID, Method: "mtls"}); got != want {
					t.Errorf("consumer = %+v, want %+v", got, want)
				}
				if c.Credential == "" {
					t.Error("consumer has no credential, want the certificate serial")
				}
			}
		})
	}
}

func certPtr[T any](v T) *T { return &v }
