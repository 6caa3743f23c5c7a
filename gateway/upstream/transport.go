package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// NewTransport returns an *http.Transport tuned for a gateway talking to
// a few upstream services at high concurrency:
//
//   - up to 256 idle connections kept per host (the default is 2, which
//     makes a busy proxy open and close connections all the time), 1024 in
//     all, closed after 90s idle;
//   - HTTP/2 attempted over TLS (ForceAttemptHTTP2);
//   - dial and TLS handshake timeouts of 5s, keep-alive probes every 30s;
//   - no proxy from the environment: upstreams are dialed directly;
//   - no response timeout: put a per-try timeout around the pool instead.
//
// tlsConfig, if not nil, is cloned into TLSClientConfig. Pools created
// without a Transport or TLS share one such transport.
func NewTransport(tlsConfig *tls.Config) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		ReadBufferSize:        32 << 10,
		WriteBufferSize:       32 << 10,
	}
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig.Clone()
	}
	return t
}

// sharedTransport is the transport of every pool without its own.
var sharedTransport = sync.OnceValue(func() *http.Transport { return NewTransport(nil) })

// TLSFiles names PEM files for a pool's client TLS configuration, the form
// a configuration file uses.
type TLSFiles struct {
	// CAFile holds the root certificates that upstream server certificates
	// must chain to (a private CA). If empty, the system roots are used.
	CAFile string `json:"ca_file,omitempty" yaml:"ca_file"`
	// CertFile and KeyFile hold the client certificate and its private key
	// presented to upstreams that require mutual TLS. Set both or neither.
	CertFile string `json:"cert_file,omitempty" yaml:"cert_file"`
	KeyFile  string `json:"key_file,omitempty" yaml:"key_file"`
	// ServerName overrides the name verified in the server certificate
	// (and sent in SNI), for instances addressed by IP.
	ServerName string `json:"server_name,omitempty" yaml:"server_name"`
}

// LoadTLS reads the files named by f and returns a client TLS
// configuration for [Config].TLS, requiring TLS 1.2 or later. Errors name
// the field, as in "tls.ca_file: no certificate found in ca.pem".
func LoadTLS(f TLSFiles) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: no PEM certificate found in %s", f.CAFile)
		}
		c.RootCAs = pool
	}
	switch {
	case f.CertFile != "" && f.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file, tls.key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	case f.CertFile != "":
		return nil, errors.New("tls.key_file: a client certificate needs its key; set key_file too")
	case f.KeyFile != "":
		return nil, errors.New("tls.cert_file: a client key needs its certificate; set cert_file too")
	}
	return c, nil
}
