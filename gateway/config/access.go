package config

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/internal/fields"

	"github.com/portico-dev/portico/middleware/auth"
	"github.com/portico-dev/portico/middleware/redisstore"
	"github.com/portico-dev/portico/openapi"
)

// Store is the shared store of a config file.
type Store struct {
	// Redis is the Redis server holding the state. Required.
	Redis *Redis `yaml:"redis"`
	// FailClosed answers 503 while Redis is unreachable; by default
	// limits fail open (see gateway.Stores).
	FailClosed bool `yaml:"fail_closed"`
	// Replicas is how many gateway replicas share Redis. If zero, 1.
	Replicas int `yaml:"replicas"`
}

// Redis says how to reach Redis. The client fails fast: one
// attempt per command within Timeout, and a circuit breaker shared by
// every store (limits, quotas, caches, idempotency keys, AI limits, the
// platform) that skips Redis once it is known to be down, so an outage
// costs the requests in flight one Timeout and the others nothing (see
// redisstore.Open and redisstore.WithBreaker).
type Redis struct {
	// Address is "host:port". Required.
	Address string `yaml:"address"`
	// Username and Password authenticate (write Password as "${ENV}").
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DB selects the database.
	DB int `yaml:"db"`
	// Prefix is put in front of every key. If empty, "portico:".
	Prefix string `yaml:"prefix"`
	// Timeout bounds dialing and each command. If zero, 200ms.
	Timeout time.Duration `yaml:"timeout"`
	// Failures is how many failed commands in a row (timeouts, broken
	// connections) open the circuit breaker; a refused connection opens it
	// at once. Every store then falls back (or fails closed) without
	// trying Redis. If zero, 1: an outage costs the requests in flight one
	// Timeout. More rides out isolated timeouts (a CPU-throttled
	// container) but lets the first requests of an outage wait longer.
	Failures int `yaml:"failures"`
	// OpenFor is how long Redis is skipped once the breaker is open,
	// before one command probes it; when the probe succeeds Redis is used
	// again. If zero, 1s.
	OpenFor time.Duration `yaml:"open_for"`
}

// APIFile is an [API] in a config file.
type APIFile struct {
	// Name, Upstream, Prefix, KeepPrefix, Validate and Policy are those
	// of [API].
	Name       string         `yaml:"name"`
	Upstream   string         `yaml:"upstream"`
	Prefix     string         `yaml:"prefix"`
	KeepPrefix bool           `yaml:"keep_prefix"`
	Validate   string         `yaml:"validate"`
	Policy     gateway.Policy `yaml:"policy"`
	// Spec is the OpenAPI file (YAML or JSON), relative to the config
	// file's directory. Required.
	Spec string `yaml:"spec"`
}

// TLS configures the gateway's listener for HTTPS.
type TLS struct {
	// CertFile and KeyFile are the server's PEM certificate chain and
	// key. Required.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile is a PEM bundle of the CAs that sign client
	// certificates. With it, clients are asked for a certificate (mutual
	// TLS), which the client_cert authenticator then reads.
	ClientCAFile string `yaml:"client_ca_file"`
	// ClientCerts is "require" (the default with ClientCAFile: a client
	// without a valid certificate fails the handshake) or "optional" (a
	// client may connect without one; one from another CA still fails).
	ClientCerts string `yaml:"client_certs"`
}

// ServerTLS builds the listener's TLS configuration: TLS 1.2 or later,
// HTTP/2 and HTTP/1.1 offered through ALPN (NextProtos "h2", "http/1.1"),
// and with ClientCAFile, client certificates verified against that pool.
// Errors name the field.
func ServerTLS(cfg TLS) (*tls.Config, error) {
	if cfg.CertFile == "" || cfg.KeyFile == "" {
		return nil, fieldErr("tls.cert_file", "set cert_file and key_file, the PEM certificate and key")
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fieldErr("tls.cert_file", "cannot load the certificate and key: %v", err)
	}
	var tc *tls.Config
	switch {
	case cfg.ClientCAFile == "" && cfg.ClientCerts != "":
		return nil, fieldErr("tls.client_certs", "needs client_ca_file, the CAs that sign client certificates")
	case cfg.ClientCAFile == "":
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	default:
		if cfg.ClientCerts != "" && cfg.ClientCerts != "require" && cfg.ClientCerts != "optional" {
			return nil, fieldErr("tls.client_certs", "%q is not a mode; use \"require\" or \"optional\"", cfg.ClientCerts)
		}
		data, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fieldErr("tls.client_ca_file", "cannot read: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fieldErr("tls.client_ca_file", "holds no PEM certificate")
		}
		tc = auth.MutualTLSConfig(pool, cfg.ClientCerts != "optional")
	}
	tc.Certificates = []tls.Certificate{cert}
	tc.NextProtos = []string{"h2", "http/1.1"}
	return tc, nil
}

// ServerTLS returns the listener's TLS configuration, or nil when the
// file has no tls section. Relative paths are taken from the config
// file's directory.
func (c *File) ServerTLS() (*tls.Config, error) {
	if c.TLS == nil {
		return nil, nil
	}
	t := *c.TLS
	for _, p := range []*string{&t.CertFile, &t.KeyFile, &t.ClientCAFile} {
		*p = c.rel(*p)
	}
	tc, err := ServerTLS(t)
	if err != nil {
		return nil, c.annotate(err)
	}
	return tc, nil
}

// rel resolves a path relative to the config file's directory.
func (c *File) rel(p string) string {
	if p == "" || filepath.IsAbs(p) || c.file == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.file), p)
}

// authMethods returns the auth methods with their key files taken from
// the config file's directory.
func (c *File) authMethods() []AuthMethod {
	ms := make([]AuthMethod, len(c.AuthMethods))
	copy(ms, c.AuthMethods)
	for i := range ms {
		if j := ms[i].JWT; j != nil && len(j.KeyFiles) > 0 {
			cp := *j
			cp.KeyFiles = map[string]string{}
			for k, f := range j.KeyFiles {
				cp.KeyFiles[k] = c.rel(f)
			}
			ms[i].JWT = &cp
		}
	}
	return ms
}

// store borrows the Redis store of the store section, if any, and gives
// its views to the build.
func (c *File) store(b *gateway.Builder) (*redisstore.Store, []error) {
	s := c.Store
	if s == nil {
		return nil, nil
	}
	if errs := checkStore(s); len(errs) > 0 {
		return nil, errs
	}
	st, err := openRedis(b, s.Redis)
	if err != nil {
		return nil, []error{fieldErr("store.redis", "%v", err)}
	}
	b.Apply(gateway.WithStores(gateway.Stores{Rates: st.Rates(), Quotas: st.Quotas(), Windows: st.Windows(), Cache: st.Cache(),
		Idempotency: st.Idempotency(), FailClosed: s.FailClosed, Replicas: s.Replicas}))
	return st, nil
}

// apis loads the OpenAPI documents of the apis section.
func (c *File) apis() ([]API, []error) {
	var out []API
	var errs []error
	for i, a := range c.APIs {
		at := fields.Index("apis", i)
		if a.Spec == "" {
			errs = append(errs, fieldErr(at+".spec", "is required: the OpenAPI file"))
			continue
		}
		spec, err := openapi.LoadFile(c.rel(a.Spec))
		if err != nil {
			errs = append(errs, fieldErr(at+".spec", "%v", err))
			continue
		}
		out = append(out, API{Name: a.Name, Spec: spec, Upstream: a.Upstream, Prefix: a.Prefix,
			KeepPrefix: a.KeepPrefix, Validate: a.Validate, Policy: a.Policy})
	}
	return out, errs
}

// checkStore validates the store section.
func checkStore(s *Store) []error {
	var errs []error
	switch {
	case s.Redis == nil:
		return []error{fieldErr("store.redis", "is required: the Redis server's address")}
	case s.Redis.Address == "":
		errs = append(errs, fieldErr("store.redis.address", "is required, like \"redis:6379\""))
	}
	for _, f := range []struct {
		name string
		bad  bool
	}{{"timeout", s.Redis.Timeout < 0}, {"failures", s.Redis.Failures < 0}, {"open_for", s.Redis.OpenFor < 0}} {
		if f.bad {
			errs = append(errs, fieldErr("store.redis."+f.name, "must not be negative"))
		}
	}
	if s.Replicas < 0 {
		errs = append(errs, fieldErr("store.replicas", "must not be negative"))
	}
	return errs
}

// openRedis borrows the one Redis store of a build, failing fast, which
// the rate limits, quotas, caches, idempotency keys, AI limits and
// platform all use, so that they share one client and one circuit
// breaker. The store of the previous build is kept while the redis
// section, the logger and the meter and tracer providers are unchanged.
func openRedis(b *gateway.Builder, rc *Redis) (*redisstore.Store, error) {
	v, err := b.Keep("redis", func() (any, error) {
		ropts := []redisstore.Option{redisstore.WithTimeout(rc.Timeout), redisstore.WithBreaker(rc.Failures, rc.OpenFor),
			redisstore.WithLogger(cmp.Or(b.Logger(), slog.Default()))}
		if rc.Prefix != "" {
			ropts = append(ropts, redisstore.WithPrefix(rc.Prefix))
		}
		if mp := b.MeterProvider(); mp != nil {
			ropts = append(ropts, redisstore.WithMeterProvider(mp))
		}
		if tp := b.TracerProvider(); tp != nil {
			ropts = append(ropts, redisstore.WithTracerProvider(tp))
		}
		return redisstore.Open(&redis.Options{Addr: rc.Address, Username: rc.Username, Password: rc.Password, DB: rc.DB}, ropts...), nil
	}, rc, identity(b.Logger()), identity(b.MeterProvider()), identity(b.TracerProvider()))
	if err != nil {
		return nil, err
	}
	return v.(*redisstore.Store), nil
}
