package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"encoding/xml"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netHTTPFailures are the h2spec cases Go's own HTTP/2 server fails (a
// bare net/http TLS server fails them too): group ID and description.
// The gateway must fail no other.
var netHTTPFailures = map[[2]string]bool{
	{"http2/4.2", "Sends a large size HEADERS frame that exceeds the SETTINGS_MAX_FRAME_SIZE"}:                                                                true,
	{"http2/6.5.3", "Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE"}:                                                                                  true,
	{"http2/8.1.2.2", "Sends a HEADERS frame that contains the connection-specific header field"}:                                                             true,
	{"http2/8.1.2.2", `Sends a HEADERS frame that contains the TE header field with any value other than "trailers"`}:                                         true,
	{"http2/6.9.1", "Sends multiple WINDOW_UPDATE frames increasing the flow control window to above 2^31-1 on a stream"}:                                     true,
	{"http2/8.1.2.6", `Sends a HEADERS frame with the "content-length" header field which does not equal the sum of the multiple DATA frames payload length`}: true,
}

// TestH2Spec runs the h2spec HTTP/2 conformance suite against the gateway's
// TLS listener. It needs h2spec on PATH
// (go install github.com/summerwind/h2spec/cmd/h2spec@latest).
func TestH2Spec(t *testing.T) {
	bin, err := exec.LookPath("h2spec")
	if err != nil {
		t.Skip("h2spec is not on PATH; install it with `go install github.com/summerwind/h2spec/cmd/h2spec@latest` to run the HTTP/2 conformance suite")
	}
	if testing.Short() {
		t.Skip("h2spec takes about half a minute")
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "hello\n")
	}))
	defer up.Close()
	dir := t.TempDir()
	selfSigned(t, dir)
	file := filepath.Join(dir, "gw.yaml")
	yaml := "upstreams: [{name: web, instances: [{url: " + up.URL + "}]}]\n" +
		"tls: {cert_file: cert.pem, key_file: key.pem}\n" +
		"routes: [{path: /*, upstream: web}]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", file, "-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-log-level", "error"},
			io.Discard, func(string) (string, bool) { return "", false }, func(p, _ net.Addr) { addrs <- p })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not start")
	}
	host, port, _ := net.SplitHostPort(addr.String())
	report := filepath.Join(dir, "h2spec.xml")
	out, _ := exec.CommandContext(ctx, bin, "-t", "-k", "-h", host, "-p", port, "-P", "/hello", "-o", "5", "-j", report).CombinedOutput()
	failed := h2specFailures(t, report, out)
	for _, f := range failed {
		if !netHTTPFailures[f] {
			t.Errorf("h2spec %s: %s fails on the gateway, not on net/http", f[0], f[1])
		}
	}
	t.Logf("h2spec: %d failures, all Go's own HTTP/2 server's", len(failed))
}

// h2specFailures reads h2spec's JUnit report and returns the failed cases.
func h2specFailures(t *testing.T, report string, out []byte) [][2]string {
	t.Helper()
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("h2spec wrote no report: %v\n%s", err, out)
	}
	var r struct {
		Suites []struct {
			Cases []struct {
				Package string    `xml:"package,attr"`
				Desc    string    `xml:"classname,attr"`
				Failure *string   `xml:"failure"`
				Error   *string   `xml:"error"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &r); err != nil {
		t.Fatalf("h2spec report: %v", err)
	}
	var failed [][2]string
	total := 0
	for _, s := range r.Suites {
		for _, c := range s.Cases {
			total++
			if c.Failure != nil || c.Error != nil {
				failed = append(failed, [2]string{c.Package, strings.TrimSpace(c.Desc)})
			}
		}
	}
	if total < 100 {
		t.Fatalf("h2spec ran %d cases, want the whole suite\n%s", total, out)
	}
	return failed
}

// selfSigned writes cert.pem and key.pem for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gateway"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*pem.Block{"cert.pem": {Type: "CERTIFICATE", Bytes: der}, "key.pem": {Type: "EC PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
