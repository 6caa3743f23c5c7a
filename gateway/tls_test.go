package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/internal/redistest"
)

// pki is a throwaway CA with a server and a client certificate.
type pki struct {
	dir        string
	ca         *x509.Certificate
	caKey      *ecdsa.PrivateKey
	clientCert tls.Certificate
}

func newPKI(t *testing.T, client string) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	var err error
	p.caKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.write(t, "ca.pem", "CERTIFICATE", der)
	srvDER, srvKey := p.issue(t, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "gateway"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	p.write(t, "server.pem", "CERTIFICATE", srvDER)
	kb, _ := x509.MarshalECPrivateKey(srvKey)
	p.write(t, "server-key.pem", "EC PRIVATE KEY", kb)
	cliDER, cliKey := p.issue(t, &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: client},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	p.clientCert = tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}
	return p
}

func (p *pki) issue(t *testing.T, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestListenerMutualTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t, "svc-billing")
	up, _ := countingServer(t, "app")
	yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
tls: {cert_file: server.pem, key_file: server-key.pem, client_ca_file: ca.pem}
consumers: [{id: svc-billing, scopes: [billing]}]
auth_methods: [{name: mtls, client_cert: {}}]
routes: [{path: /bill, upstream: app, policy: {auth: {methods: [mtls], scopes: [billing]}}}]
`
	file := filepath.Join(p.dir, "gw.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cfg.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	g, err := cfg.Build(gateway.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewUnstartedServer(g)
	srv.TLS = tc
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(p.ca)
	client := func(certs ...tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12}}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}

	t.Run("a client without a certificate fails the handshake", func(t *testing.T) {
		resp, err := client().Get(srv.URL + "/bill")
		if err == nil {
			resp.Body.Close()
			t.Fatal("the request succeeded without a client certificate")
		}
	})
	t.Run("a client certificate identifies the consumer", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/bill", nil)
		resp, e := do(t, client(p.clientCert), req)
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
		if got, want := e.Header.Get("X-Consumer-Id"), "svc-billing"; got != want {
			t.Errorf("consumer %q, want %q", got, want)
		}
	})
}

func TestServerTLSMistakesNameTheField(t *testing.T) {
	t.Parallel()
	p := newPKI(t, "c")
	for _, c := range []struct {
		name string
		cfg  config.TLS
		want string
	}{
		{"no certificate", config.TLS{}, "tls.cert_file: set cert_file and key_file"},
		{"a missing CA file", config.TLS{CertFile: filepath.Join(p.dir, "server.pem"), KeyFile: filepath.Join(p.dir, "server-key.pem"), ClientCAFile: filepath.Join(p.dir, "nope.pem")}, "tls.client_ca_file: cannot read"},
		{"an unknown client mode", config.TLS{
			CertFile:     filepath.Join(p.dir, "server.pem"),
			KeyFile:      filepath.Join(p.dir, "server-key.pem"),
			ClientCAFile: filepath.Join(p.dir, "ca.pem"),
			ClientCerts:  "maybe",
		}, `tls.client_certs: "maybe" is not a mode`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.ServerTLS(c.cfg)
			wantErrContaining(t, err, c.want)
		})
	}
}

func TestReplicasShareLimitsThroughRedis(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	up, hits := countingServer(t, "app")
	yaml := `
upstreams: [{name: app, instances: [{url: ` + up.URL + `}]}]
store: {redis: {address: "` + rs.Addr() + `", prefix: "` + strings.ReplaceAll(t.Name(), "/", "-") + `:", timeout: 5s}, replicas: 2}
routes: [{name: r, path: /r, upstream: app, policy: {rate_limit: {requests: 3, per: 1m, key: route}}}]
`
	var urls []string
	for range 2 {
		cfg, err := config.Parse("gw.yaml", []byte(yaml), nil)
		if err != nil {
			t.Fatal(err)
		}
		g, err := cfg.Build(gateway.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		urls = append(urls, httptestServer(t, g))
	}
	ok := 0
	for i := range 6 {
		if resp, _ := getWith(t, urls[i%2]+"/r"); resp.StatusCode == http.StatusOK {
			ok++
		}
	}
	if got, want := ok, 3; got != want {
		t.Errorf("%d allowed across two replicas, want %d: one limit shared through Redis", got, want)
	}
	if got, want := hits.Load(), int64(3); got != want {
		t.Errorf("the upstream saw %d requests, want %d", got, want)
	}
}
