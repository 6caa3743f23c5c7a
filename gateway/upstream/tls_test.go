package upstream_test

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

	"github.com/portico-dev/portico/gateway/upstream"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
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
	return &testCA{cert: cert, key: key, der: der}
}

// issue returns a PEM certificate and key for a server (with the loopback
// IP) or a client.
func (ca *testCA) issue(t *testing.T, serial int64, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "leaf"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMutualTLSToUpstream serves an instance that requires a client
// certificate from a private CA, and checks that a pool configured with
// LoadTLS reaches it while one without the client certificate does not.
func TestMutualTLSToUpstream(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	dir := t.TempDir()
	srvCert, srvKey := ca.issue(t, 2, true)
	cliCert, cliKey := ca.issue(t, 3, false)
	pair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Client", r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    roots,
		MinVersion:   tls.VersionTLS12,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	caFile := writeFile(t, dir, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der}))
	files := upstream.TLSFiles{
		CAFile:   caFile,
		CertFile: writeFile(t, dir, "client.pem", cliCert),
		KeyFile:  writeFile(t, dir, "client-key.pem", cliKey),
	}
	withCert, err := upstream.LoadTLS(files)
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, upstream.Config{Instances: []upstream.Instance{{URL: srv.URL}}, TLS: withCert})
	_, resp, err := get(p, "/")
	if err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("with a client certificate: status %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("X-Client"), "leaf"; got != want {
		t.Fatalf("with a client certificate: X-Client %q, want %q", got, want)
	}

	noCert, err := upstream.LoadTLS(upstream.TLSFiles{CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	p2 := newPool(t, upstream.Config{Instances: []upstream.Instance{{URL: srv.URL}}, TLS: noCert})
	if _, _, err := get(p2, "/"); err == nil {
		t.Fatal("without a client certificate the handshake should fail")
	}
}

func TestLoadTLSNamesTheField(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := writeFile(t, dir, "junk.pem", []byte("not a certificate"))
	tests := []struct {
		name  string
		files upstream.TLSFiles
		want  string
	}{
		{"a missing CA file", upstream.TLSFiles{CAFile: filepath.Join(dir, "missing.pem")}, "tls.ca_file:"},
		{"a CA file without certificates", upstream.TLSFiles{CAFile: notPEM}, "tls.ca_file:"},
		{"a certificate without its key", upstream.TLSFiles{CertFile: notPEM}, "tls.key_file:"},
		{"a key without its certificate", upstream.TLSFiles{KeyFile: notPEM}, "tls.cert_file:"},
		{"an unreadable key pair", upstream.TLSFiles{CertFile: notPEM, KeyFile: notPEM}, "tls.cert_file, tls.key_file:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := upstream.LoadTLS(tt.files)
			if err == nil {
				t.Fatalf("error nil, want prefix %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}
