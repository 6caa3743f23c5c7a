package grpctest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

// Server is a running test gRPC server.
type Server struct {
	// Addr is the server's host:port on loopback.
	Addr string
	// URL is "http://Addr" (h2c) or "https://Addr" (TLS).
	URL string
	// Service is the Shelf implementation it serves.
	Service *Service
	// Health is its grpc.health.v1 service; tests change its statuses.
	Health *health.Server
	// ClientTLS trusts the server's certificate; nil for h2c.
	ClientTLS *tls.Config

	srv *grpc.Server
}

// Options configure [Start].
type Options struct {
	// TLS serves over TLS with a fresh self-signed certificate for
	// 127.0.0.1 instead of h2c.
	TLS bool
	// NoReflection leaves the reflection service out.
	NoReflection bool
	// FailEcho, when not OK, ends every Echo call with this code: an
	// instance that is up but failing.
	FailEcho codes.Code
}

// Start starts a server on loopback and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Run starts a server on loopback; the caller stops it.
func Run(o Options) (*Server, error) {
	lis, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: lis.Addr().String(), URL: "http://" + lis.Addr().String(), Service: &Service{failEcho: o.FailEcho}, Health: health.NewServer()}
	creds := insecure.NewCredentials()
	if o.TLS {
		cert, pool, err := selfSigned()
		if err != nil {
			_ = lis.Close()
			return nil, err
		}
		creds = credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		s.ClientTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		s.URL = "https://" + s.Addr
	}
	s.srv = grpc.NewServer(grpc.Creds(creds))
	testpb.RegisterShelfServer(s.srv, s.Service)
	healthpb.RegisterHealthServer(s.srv, s.Health)
	if !o.NoReflection {
		reflection.Register(s.srv)
	}
	go func() { _ = s.srv.Serve(lis) }()
	return s, nil
}

// Stop stops the server at once, ending the calls in flight. It may be
// called more than once.
func (s *Server) Stop() {
	s.Health.Shutdown()
	s.srv.Stop()
}

// Dial returns a client connection to the server, closed when the test
// ends.
func (s *Server) Dial(t testing.TB) *grpc.ClientConn {
	t.Helper()
	return Dial(t, s.Addr, s.ClientTLS)
}

// Dial returns a client connection to addr, over TLS trusting roots when
// roots is not nil, closed when the test ends.
func Dial(t testing.TB, addr string, roots *tls.Config) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if roots != nil {
		creds = credentials.NewTLS(roots.Clone())
	}
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "grpctest"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
