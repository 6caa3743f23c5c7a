package aiclient

import (
	"cmp"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Defaults of [TransportConfig].
const (
	DefaultMaxIdleConnsPerHost = 256
	DefaultIdleConnTimeout     = 90 * time.Second
	DefaultDialTimeout         = 10 * time.Second
	DefaultTLSHandshakeTimeout = 10 * time.Second
)

// TransportConfig tunes the HTTP transport an adapter creates for itself
// when it is given no HTTP client, or one whose Transport is nil (see
// [NewTransport]). Its zero value means the defaults; the names are those
// of [http.Transport].
type TransportConfig struct {
	// MaxIdleConnsPerHost is how many idle connections to the provider are
	// kept for reuse: set it to at least the number of calls in flight at
	// once, or calls beyond it open (and close) a connection, with a TLS
	// handshake, each. By default, [DefaultMaxIdleConnsPerHost] (where
	// http.DefaultTransport keeps 2).
	MaxIdleConnsPerHost int `json:"max_idle_conns_per_host,omitempty" yaml:"max_idle_conns_per_host"`
	// IdleConnTimeout closes a connection idle for that long. By default,
	// [DefaultIdleConnTimeout].
	IdleConnTimeout time.Duration `json:"idle_conn_timeout,omitempty" yaml:"idle_conn_timeout"`
	// DialTimeout bounds connecting to the provider. By default,
	// [DefaultDialTimeout].
	DialTimeout time.Duration `json:"dial_timeout,omitempty" yaml:"dial_timeout"`
	// TLSHandshakeTimeout bounds the TLS handshake. By default,
	// [DefaultTLSHandshakeTimeout].
	TLSHandshakeTimeout time.Duration `json:"tls_handshake_timeout,omitempty" yaml:"tls_handshake_timeout"`
}

// Validate reports the first negative setting, naming its field as a
// configuration file does ("max_idle_conns_per_host: ...").
func (c TransportConfig) Validate() error {
	for _, f := range []struct {
		name string
		neg  bool
	}{
		{"max_idle_conns_per_host", c.MaxIdleConnsPerHost < 0},
		{"idle_conn_timeout", c.IdleConnTimeout < 0},
		{"dial_timeout", c.DialTimeout < 0},
		{"tls_handshake_timeout", c.TLSHandshakeTimeout < 0},
	} {
		if f.neg {
			return fmt.Errorf("%s: must not be negative; leave it out for the default", f.name)
		}
	}
	return nil
}

// NewTransport returns an *http.Transport tuned for calling an LLM
// provider from a busy process:
//
//   - up to c.MaxIdleConnsPerHost idle connections kept per host (256 by
//     default; http.DefaultTransport keeps 2, so that at more than 2 calls
//     at once most calls open a new connection and handshake TLS again),
//     closed after c.IdleConnTimeout idle (90s);
//   - HTTP/2 negotiated over TLS where the provider offers it
//     (ForceAttemptHTTP2), so that calls share connections;
//   - dial and TLS handshake timeouts of 10s, TCP keep-alive probes every
//     30s;
//   - the proxy from the environment (HTTPS_PROXY, NO_PROXY), as
//     http.DefaultTransport;
//   - no response timeout: a completion may take minutes, so bound calls
//     with the context instead.
//
// Adapters create one when given no HTTP client (or one whose Transport
// is nil) and share it among all their calls. A negative setting panics;
// see [TransportConfig.Validate].
func NewTransport(c TransportConfig) *http.Transport {
	if err := c.Validate(); err != nil {
		panic("portico/aiclient: NewTransport: " + err.Error())
	}
	d := &net.Dialer{Timeout: cmp.Or(c.DialTimeout, DefaultDialTimeout), KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   cmp.Or(c.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost),
		IdleConnTimeout:       cmp.Or(c.IdleConnTimeout, DefaultIdleConnTimeout),
		TLSHandshakeTimeout:   cmp.Or(c.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout),
		ExpectContinueTimeout: time.Second,
		ReadBufferSize:        32 << 10,
		WriteBufferSize:       32 << 10,
	}
}
