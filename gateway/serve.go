package gateway

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// ServerConfig configures the server [ServerConfig.Serve] runs: the
// protocols it speaks and the limits that keep slow or greedy clients
// from holding it. The zero value is ready to use: HTTP/1.1 on a plain
// listener, 10s to send request headers, 2 minutes of idle keep-alive,
// request bodies that may stall 30s and must average 240 bytes a second
// after 5s, and 30s for requests in flight to finish on shutdown. In a
// config file it is the server section.
type ServerConfig struct {
	// TLS, if not nil, makes the server speak HTTPS on the listener it is
	// given (a plain TCP listener), offering HTTP/2 ("h2") and HTTP/1.1
	// through ALPN; config.ServerTLS builds one. A config file sets it with
	// its tls section.
	TLS *tls.Config `yaml:"-"`
	// H2C also accepts HTTP/2 without TLS, with prior knowledge (RFC 9113
	// section 3.3), on a plain listener: for gRPC clients and for load
	// balancers that end TLS and speak HTTP/2 to the gateway. By default,
	// a plain listener speaks HTTP/1 only. It cannot be set with TLS,
	// where HTTP/2 is negotiated.
	H2C bool `yaml:"h2c"`
	// ReadHeaderTimeout bounds reading a request's headers. If zero, 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request. If zero, 2 minutes.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds the size of a request's headers. If zero,
	// 1 MiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// BodyStallTimeout is how long the server waits for a client's next
	// request body bytes before answering 408 and canceling the request
	// (and its upstream request). If zero, 30s; if negative, no limit.
	BodyStallTimeout time.Duration `yaml:"body_stall_timeout"`
	// BodyMinRate is the slowest average pace, in bytes per second, at
	// which a client may send a request body once BodyRateGrace has
	// passed: a body of n bytes may keep the server waiting
	// BodyRateGrace + n/BodyMinRate in all, so large uploads that keep
	// coming pass and trickling ones are cut with a 408. If zero, 240; if
	// negative, no minimum.
	BodyMinRate int64 `yaml:"body_min_rate"`
	// BodyRateGrace is how long the server waits for body bytes before
	// BodyMinRate applies. If zero, 5s.
	BodyRateGrace time.Duration `yaml:"body_rate_grace"`
	// BodyTimeout bounds the time the server waits for a whole request
	// body, however fast it comes. By default (zero), none: BodyMinRate
	// bounds the wait by the body's size.
	BodyTimeout time.Duration `yaml:"body_timeout"`
	// BodySkip exempts the requests it reports from the body limits. By
	// default, none is; a body the response has started to answer (a full
	// duplex stream) is exempt from then on anyway. See
	// [middleware.BodyTimeout].
	BodySkip func(*http.Request) bool `yaml:"-"`
	// ShutdownGrace is how long requests in flight may finish once
	// shutdown begins. If zero, 30s.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// Logger receives the server's own errors (failed TLS handshakes,
	// broken HTTP/2 connections) at debug level: clients cause them, and
	// they say nothing about the gateway. If nil, [slog.Default].
	Logger *slog.Logger `yaml:"-"`
}

// Serve serves h on l until ctx is done, then shuts down gracefully: it
// stops accepting connections, lets requests in flight finish for up to
// ShutdownGrace, and then closes the remaining connections. It returns
// nil after a graceful stop, an error naming the field when the
// configuration is invalid, or the error that stopped the server. l is
// closed on return. Response writing is never bounded, so long streams
// (Server-Sent Events, downloads) pass.
func (c ServerConfig) Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	if err := c.Validate(); err != nil {
		_ = l.Close()
		return err
	}
	srv := &http.Server{
		Handler: middleware.BodyTimeout(middleware.BodyTimeoutConfig{Stall: c.BodyStallTimeout,
			MinRate: c.BodyMinRate, Grace: c.BodyRateGrace, Total: c.BodyTimeout, Skip: c.BodySkip})(h),
		ReadHeaderTimeout: cmp.Or(c.ReadHeaderTimeout, 10*time.Second),
		IdleTimeout:       cmp.Or(c.IdleTimeout, 2*time.Minute),
		MaxHeaderBytes:    cmp.Or(c.MaxHeaderBytes, 1<<20),
		TLSConfig:         c.TLS,
		ErrorLog:          slog.NewLogLogger(cmp.Or(c.Logger, slog.Default()).Handler(), slog.LevelDebug),
	}
	if c.H2C {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		srv.Protocols = &p
	}
	errc := make(chan error, 1)
	go func() {
		if c.TLS != nil {
			// ServeTLS offers h2 and http/1.1 through ALPN, on a copy of
			// the configuration.
			errc <- srv.ServeTLS(l, "", "")
			return
		}
		errc <- srv.Serve(l)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(c.ShutdownGrace, 30*time.Second))
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// Validate reports the fields with a value Serve cannot use, each as a
// [FieldError]; Serve calls it first.
func (c ServerConfig) Validate() error {
	errs := newErrors()
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"server.read_header_timeout", c.ReadHeaderTimeout},
		{"server.idle_timeout", c.IdleTimeout},
		{"server.body_rate_grace", c.BodyRateGrace},
		{"server.body_timeout", c.BodyTimeout},
		{"server.shutdown_grace", c.ShutdownGrace},
	} {
		if d.v < 0 {
			errs.Addf(d.name, "must not be negative, got %v; leave it out for the default", d.v)
		}
	}
	if c.MaxHeaderBytes < 0 {
		errs.Addf("server.max_header_bytes", "must not be negative, got %d; leave it out for 1 MiB", c.MaxHeaderBytes)
	}
	if c.H2C && c.TLS != nil {
		errs.Addf("server.h2c", "is for a plain listener; with tls, clients negotiate HTTP/2 (h2) on their own")
	}
	return errs.Err()
}
