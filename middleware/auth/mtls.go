package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	"github.com/portico-dev/portico/middleware"
)

// MutualTLSConfig returns a server TLS configuration that asks clients for
// a certificate and verifies it against pool. With require set, a client
// without a valid certificate fails the handshake; otherwise it may
// connect without one (and [ClientCertAuth] reports no credentials), but a
// certificate from another CA still fails the handshake. Set Certificates
// (or GetCertificate) on the result before use. It panics if pool is nil.
func MutualTLSConfig(pool *x509.CertPool, require bool) *tls.Config {
	if pool == nil {
		panic("portico/auth: MutualTLSConfig needs a CA pool")
	}
	auth := tls.VerifyClientCertIfGiven
	if require {
		auth = tls.RequireAndVerifyClientCert
	}
	return &tls.Config{ClientCAs: pool, ClientAuth: auth, MinVersion: tls.VersionTLS12}
}

// ClientCertConfig configures [NewClientCertAuth]. Consumers is required.
type ClientCertConfig struct {
	// Consumers maps the certificate identity to a consumer.
	Consumers middleware.ConsumerRegistry
	// Identity returns the consumer ID of a verified client certificate. If
	// nil, [CertIdentity] is used.
	Identity func(cert *x509.Certificate) string
}

// ClientCertAuth is an [Authenticator] for TLS client certificates. It
// reads only the chains the TLS stack verified (r.TLS.VerifiedChains), so
// it needs a listener configured like [MutualTLSConfig]. It is safe for
// concurrent use.
type ClientCertAuth struct {
	consumers middleware.ConsumerRegistry
	identity  func(*x509.Certificate) string
}

// NewClientCertAuth returns a client certificate authenticator. It panics
// if Consumers is nil.
func NewClientCertAuth(cfg ClientCertConfig) *ClientCertAuth {
	if cfg.Consumers == nil {
		panic("portico/auth: NewClientCertAuth needs Consumers")
	}
	if cfg.Identity == nil {
		cfg.Identity = CertIdentity
	}
	return &ClientCertAuth{consumers: cfg.Consumers, identity: cfg.Identity}
}

// CertIdentity returns the first URI SAN (such as a SPIFFE ID), else the
// first DNS SAN, else the first e-mail SAN, else the subject common name.
func CertIdentity(cert *x509.Certificate) string {
	switch {
	case len(cert.URIs) > 0:
		return cert.URIs[0].String()
	case len(cert.DNSNames) > 0:
		return cert.DNSNames[0]
	case len(cert.EmailAddresses) > 0:
		return cert.EmailAddresses[0]
	}
	return cert.Subject.CommonName
}

// Authenticate implements [Authenticator].
func (a *ClientCertAuth) Authenticate(r *http.Request) (*middleware.Consumer, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, ErrNoCredentials
	}
	if len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, fmt.Errorf("%w: client certificate not verified", ErrInvalidCredentials)
	}
	leaf := r.TLS.VerifiedChains[0][0]
	id := a.identity(leaf)
	if id == "" {
		return nil, fmt.Errorf("%w: client certificate names no identity", ErrInvalidCredentials)
	}
	base, err := a.consumers.Consumer(r.Context(), id)
	if err != nil {
		if errors.Is(err, middleware.ErrUnknownConsumer) {
			return nil, fmt.Errorf("%w: client certificate for unknown consumer", ErrInvalidCredentials)
		}
		return nil, fmt.Errorf("%w: consumer registry: %w", ErrUnavailable, err)
	}
	c := base.Clone()
	c.Credential, c.Method = leaf.SerialNumber.Text(16), "mtls"
	return c, nil
}
