package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/portico-dev/portico/gateway/upstream"
)

// Config is the declarative form of a gateway, as a YAML or JSON file
// holds it. It decodes into the very types the builder takes ([Route],
// [Policy], upstream.HealthCheck...), and [Config.Build] turns it into
// builder calls: there is no second code path.
type Config struct {
	// Upstreams are the pools routes send requests to.
	Upstreams []UpstreamConfig `yaml:"upstreams"`
	// Routes are matched as [WithRoute] describes.
	Routes []Route `yaml:"routes"`
	// Middleware is the global chain, by name, outermost first; see
	// [WithChain].
	Middleware []string `yaml:"middleware"`
	// TrustedProxies lists the networks (CIDR, or single addresses) of
	// proxies whose X-Forwarded-* headers are trusted; see
	// [WithTrustedProxies].
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Consumers are the callers the gateway knows, with their API keys;
	// see [WithConsumers].
	Consumers []ConsumerConfig `yaml:"consumers"`
	// AuthMethods are named authenticators (JWT issuers, introspection,
	// client certificates, API key readers); see [WithAuthMethods].
	AuthMethods []AuthMethod `yaml:"auth_methods"`
	// Identity names the headers carrying the verified consumer upstream;
	// see [WithIdentity].
	Identity *Identity `yaml:"identity"`
	// Store keeps rate limits, quotas, caches and idempotency keys in
	// Redis, shared by replicas; see [WithStores].
	Store *StoreConfig `yaml:"store"`
	// APIs build routes from OpenAPI documents; see [WithAPI].
	APIs []APIConfig `yaml:"apis"`
	// TLS makes the listener serve HTTPS, and can require client
	// certificates; see [Config.ServerTLS].
	TLS *ServerTLSConfig `yaml:"tls"`
	// Server sets the listener's protocols (h2c) and its limits on slow
	// clients; see [Config.ServerConfig].
	Server *ServerConfig `yaml:"server"`
	// Platform adds tenants, subscriptions and call logs; see
	// [PlatformConfig].
	Platform *PlatformConfig `yaml:"platform"`
	// AI serves the OpenAI- and Anthropic-compatible AI endpoints and
	// prompt APIs; see [WithAI].
	AI *AI `yaml:"ai"`
	// PathNormalization says whether escaped dots and separators in
	// request paths are refused or decoded; see [WithPathNormalization].
	PathNormalization *PathNormalization `yaml:"path_normalization"`

	file  string
	lines map[string]int
}

// UpstreamConfig is an upstream pool in a config file: the fields of
// upstream.Config that a file can hold.
type UpstreamConfig struct {
	// Name is what routes refer to. Required and unique.
	Name string `yaml:"name"`
	// Instances is a static list; set it or DNS.
	Instances []upstream.Instance `yaml:"instances"`
	// DNS discovers the instances; set it or Instances.
	DNS *upstream.DNSConfig `yaml:"dns"`
	// Balancer is round_robin (the default), weighted_round_robin,
	// least_request, random or consistent_hash.
	Balancer upstream.Balancer `yaml:"balancer"`
	// HashOn is consistent_hash's key: "header:X-User", "cookie:sid",
	// "sticky-cookie:sid" or "client_ip" (the address the client_ip
	// middleware found behind trusted proxies).
	HashOn string `yaml:"hash_on"`
	// HealthCheck enables active health checks.
	HealthCheck *upstream.HealthCheck `yaml:"health_check"`
	// Outlier enables passive ejection of failing instances.
	Outlier *upstream.OutlierDetection `yaml:"outlier"`
	// TLS names the PEM files of the client TLS configuration.
	TLS *upstream.TLSFiles `yaml:"tls"`
}

// ParseConfig decodes a YAML or JSON configuration. name is used in
// error messages (usually the file name). ${VAR} and ${VAR:-default} in
// values are replaced from env, or from the process environment if env is
// nil. Unknown fields are errors; every error names the field and line.
func ParseConfig(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxErr(name, err)
	}
	if len(root.Content) == 0 {
		// An empty file is more likely a half-written one than a wish
		// for a gateway without routes.
		return nil, &FieldError{File: name, Msg: "the configuration is empty"}
	}
	c := &Config{file: name, lines: map[string]int{}}
	d := &decoder{file: name, env: env, lines: c.lines}
	d.decode(&root, reflect.ValueOf(c).Elem(), "")
	if len(d.errs) > 0 {
		return nil, joinErrs(d.errs)
	}
	return c, nil
}

// ReadConfig reads and parses a configuration file, taking ${VAR} values
// from the process environment.
func ReadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("portico/gateway: %w", err)
	}
	return ParseConfig(path, data, nil)
}

// LoadConfig reads a configuration file and builds its gateway; opts are
// applied after the file's, to register middleware the file names or to
// set a logger and telemetry providers.
func LoadConfig(path string, opts ...Option) (*Gateway, error) {
	c, err := ReadConfig(path)
	if err != nil {
		return nil, err
	}
	return c.Build(opts...)
}

// Options turns the configuration into builder options, creating its
// upstream pools with the logger and meter provider of base, loading its
// OpenAPI files and connecting its Redis store; the gateway built from
// the options owns and closes them. With [WithState] in base, the pools,
// the Redis store and the platform file are borrowed from that state
// instead (see [State]). On error none is left behind.
func (c *Config) Options(base ...Option) ([]Option, error) {
	return c.options(base)
}

func (c *Config) options(base []Option) ([]Option, error) {
	var bc config
	for _, o := range base {
		if o != nil {
			o.apply(&bc)
		}
	}
	st, own := bc.state, false
	if st == nil {
		st, own = NewState(), true
	}
	l := st.lease(own)
	var opts []Option
	var errs []error
	for i, u := range c.Upstreams {
		p, err := c.pool(l, idx("upstreams", i), u, &bc)
		if err != nil {
			errs = append(errs, c.annotate(err))
			continue
		}
		opts = append(opts, WithUpstream(p))
	}
	var prefixes []netip.Prefix
	for i, s := range c.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				errs = append(errs, c.annotate(fieldErr(idx("trusted_proxies", i), "%q is not a CIDR prefix or an address, like \"10.0.0.0/8\"", s)))
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		prefixes = append(prefixes, p)
	}
	if c.AI != nil {
		opts = append(opts, WithAI(*c.AI))
	}
	if c.PathNormalization != nil {
		opts = append(opts, WithPathNormalization(*c.PathNormalization))
	}
	rs, more, merrs := c.accessOptions(&bc, l)
	pmore, perrs := c.platformOptions(&bc, l, rs)
	more, merrs = append(more, pmore...), append(merrs, perrs...)
	for _, e := range merrs {
		errs = append(errs, c.annotate(e))
	}
	if len(errs) > 0 {
		_ = l.release()
		return nil, joinErrs(errs)
	}
	opts = append(opts, more...)
	opts = append(opts, WithRoute(c.Routes...), WithTrustedProxies(prefixes...), withLease(l))
	if len(c.Middleware) > 0 {
		opts = append(opts, WithChain(c.Middleware...))
	}
	return opts, nil
}

// pool borrows the pool an upstream section describes: the one of the
// previous build when the section, its TLS files' content, the logger and
// the meter provider are unchanged, so that its health and ejections
// carry over.
func (c *Config) pool(l *lease, at string, u UpstreamConfig, bc *config) (*upstream.Pool, error) {
	cfg := upstream.Config{
		Name: u.Name, Instances: u.Instances, DNS: u.DNS, Balancer: u.Balancer,
		HealthCheck: u.HealthCheck, Outlier: u.Outlier,
		Logger: bc.logger, MeterProvider: bc.meter, ClientIP: clientIP,
	}
	if u.HashOn != "" {
		k, err := upstream.ParseHashKey(u.HashOn)
		if err != nil {
			return nil, fieldErr(at+".hash_on", "%s", trimPkg(err))
		}
		cfg.HashOn = k
	}
	var tlsFiles []byte
	if u.TLS != nil {
		tc, err := upstream.LoadTLS(*u.TLS)
		if err != nil {
			return nil, pathErr(at, err)
		}
		cfg.TLS = tc
		tlsFiles = fileDigest(u.TLS.CAFile, u.TLS.CertFile, u.TLS.KeyFile)
	}
	key := pieceKey("upstream", u, tlsFiles, identity(bc.logger), identity(bc.meter))
	v, err := l.borrow(key, func() (made, error) {
		p, err := upstream.New(cfg)
		if err != nil {
			return made{}, err
		}
		return made{val: p, close: p.Close, start: p.Start}, nil
	})
	if err != nil {
		return nil, pathErr(at, err)
	}
	return v.(*upstream.Pool), nil
}

// Build creates the gateway the configuration describes. opts come after
// the configuration's own, so they can register the middleware it names.
// Errors name the field and, for a parsed file, its line.
func (c *Config) Build(opts ...Option) (*Gateway, error) {
	own, err := c.options(opts)
	if err != nil {
		return nil, err
	}
	g, err := New(append(own, opts...)...)
	if err != nil {
		return nil, c.annotate(err)
	}
	return g, nil
}

// annotate adds the file and line to field errors.
func (c *Config) annotate(err error) error {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		errs := multi.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = c.annotate(e)
		}
		return joinErrs(out)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Line > 0 {
		return err
	}
	cp := *fe
	cp.File = c.file
	for p := cp.Path; p != "" && cp.Line == 0; p = parentPath(p) {
		cp.Line = c.lines[p]
	}
	return &cp
}

// parentPath drops the last element of a field path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// pathErr turns an upstream error such as "instances[1].url: no scheme"
// into a FieldError under the upstream's path.
func pathErr(at string, err error) *FieldError {
	msg := trimPkg(err)
	if head, rest, ok := strings.Cut(msg, ": "); ok && !strings.ContainsAny(head, " \"") {
		return fieldErr(at+"."+head, "%s", rest)
	}
	return fieldErr(at, "%s", msg)
}

func trimPkg(err error) string {
	s := err.Error()
	for _, p := range []string{"portico/upstream: ", "upstream: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}
