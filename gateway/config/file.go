package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/telemetry"
)

// File is the declarative form of a gateway, as a YAML or JSON file
// holds it. It decodes into the very types the builder takes
// (gateway.Route, gateway.Policy, upstream.HealthCheck...), and
// [File.Build] turns it into builder calls: there is no second code path.
type File struct {
	// Upstreams are the pools routes send requests to.
	Upstreams []Upstream `yaml:"upstreams"`
	// Routes are matched as gateway.WithRoute describes; a route can
	// proxy gRPC or translate JSON to gRPC (see [Route]).
	Routes []Route `yaml:"routes"`
	// Middleware is the global chain, by name, outermost first; see
	// gateway.WithChain.
	Middleware []string `yaml:"middleware"`
	// TrustedProxies lists the networks (CIDR, or single addresses) of
	// proxies whose X-Forwarded-* headers are trusted; see
	// gateway.WithTrustedProxies.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Consumers are the callers the gateway knows, with their API keys;
	// see [WithConsumers].
	Consumers []ConsumerConfig `yaml:"consumers"`
	// AuthMethods are named authenticators (JWT issuers, introspection,
	// client certificates, API key readers); see [WithAuthMethods].
	AuthMethods []AuthMethod `yaml:"auth_methods"`
	// Identity names the headers carrying the verified consumer upstream;
	// see gateway.WithIdentity.
	Identity *gateway.Identity `yaml:"identity"`
	// Store keeps rate limits, quotas, caches and idempotency keys in
	// Redis, shared by replicas; see gateway.WithStores.
	Store *Store `yaml:"store"`
	// APIs build routes from OpenAPI documents; see [WithAPI].
	APIs []APIFile `yaml:"apis"`
	// TLS makes the listener serve HTTPS, and can require client
	// certificates; see [File.ServerTLS].
	TLS *TLS `yaml:"tls"`
	// Server sets the listener's protocols (h2c) and its limits on slow
	// clients; see [File.ServerConfig].
	Server *gateway.ServerConfig `yaml:"server"`
	// Platform adds tenants, subscriptions and call logs; see [Platform].
	Platform *Platform `yaml:"platform"`
	// AI serves the OpenAI- and Anthropic-compatible AI endpoints and
	// prompt APIs; see [WithAI].
	AI *AI `yaml:"ai"`
	// PathNormalization says whether escaped dots and separators in
	// request paths are refused or decoded; see
	// gateway.WithPathNormalization.
	PathNormalization *gateway.PathNormalization `yaml:"path_normalization"`
	// Telemetry sends traces, metrics and logs to an OTLP collector; see
	// [File.TelemetryConfig]. Like Server, it is read once per process: a
	// reload does not change it.
	Telemetry *telemetry.Config `yaml:"telemetry"`

	file  string
	lines map[string]int
}

// Upstream is an upstream pool in a config file: the fields of
// upstream.Config that a file can hold.
type Upstream struct {
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
	HealthCheck *HealthCheck `yaml:"health_check"`
	// Outlier enables passive ejection of failing instances.
	Outlier *upstream.OutlierDetection `yaml:"outlier"`
	// TLS names the PEM files of the client TLS configuration.
	TLS *upstream.TLSFiles `yaml:"tls"`
}

// Parse decodes a YAML or JSON configuration. name is used in error
// messages (usually the file name). ${VAR} and ${VAR:-default} in values
// are replaced from env, or from the process environment if env is nil.
// Unknown fields are errors; every error names the field and line.
func Parse(name string, data []byte, env func(string) (string, bool)) (*File, error) {
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
		return nil, &gateway.FieldError{File: name, Msg: "the configuration is empty"}
	}
	c := &File{file: name, lines: map[string]int{}}
	d := &decoder{file: name, env: env, lines: c.lines}
	d.decode(&root, reflect.ValueOf(c).Elem(), "")
	if len(d.errs) > 0 {
		return nil, joinErrs(d.errs)
	}
	return c, nil
}

// Read reads and parses a configuration file, taking ${VAR} values from
// the process environment.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("portico/config: %w", err)
	}
	return Parse(path, data, nil)
}

// LoadGateway reads a configuration file and builds its gateway; opts are
// applied after the file's, to register middleware the file names, to
// set a logger and telemetry providers, or to borrow from a
// gateway.State (gateway.WithState) so that a reload keeps what the
// previous gateway learned.
func LoadGateway(path string, opts ...gateway.Option) (*gateway.Gateway, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("portico/config: %w", err)
	}
	return buildFile(path, data, nil, opts...)
}

// buildFile parses data, the file name, taking ${VAR} values from env
// (the process environment if nil), and builds its gateway with opts.
func buildFile(name string, data []byte, env func(string) (string, bool), opts ...gateway.Option) (*gateway.Gateway, error) {
	c, err := Parse(name, data, env)
	if err != nil {
		return nil, err
	}
	// A reload loads beside a serving gateway: let the requests waiting
	// for a processor run between parsing and building.
	runtime.Gosched()
	return c.Build(opts...)
}

// Options turns the configuration into builder options. Its upstream
// pools, Redis store, authenticators' key sets and platform file are made
// by the build, with the build's logger and meter provider, borrowed from
// the build's gateway.State (see gateway.WithState): a reload with
// unchanged settings keeps them. Errors here are those found without
// building: trusted proxies and OpenAPI files.
func (c *File) Options() ([]gateway.Option, error) {
	errs := c.newErrors()
	prefixes := c.trustedProxies(errs)
	grpcRoutes, gerrs := c.grpcRoutes()
	errs.Add(gerrs...)
	apis, aerrs := c.apis()
	for _, e := range aerrs {
		errs.Add(c.annotate(e))
	}
	if errs.Len() > 0 {
		return nil, errs.Err()
	}
	part := &filePart{c: c, grpc: grpcRoutes}
	opts := []gateway.Option{gateway.WithPart(part)}
	if c.Identity != nil {
		opts = append(opts, gateway.WithIdentity(*c.Identity))
	}
	if c.PathNormalization != nil {
		opts = append(opts, gateway.WithPathNormalization(*c.PathNormalization))
	}
	if len(apis) > 0 {
		opts = append(opts, WithAPI(apis...))
	}
	if c.AI != nil {
		// The AI caches in Redis use the store section's, once open.
		part.ai = &aiPart{a: *c.AI}
		opts = append(opts, gateway.WithPart(part.ai))
	}
	opts = append(opts, gateway.WithRoute(part.routes()...), gateway.WithTrustedProxies(prefixes...))
	chain := c.Middleware
	if len(grpcRoutes) > 0 {
		// Gateway errors (auth, limits, no route) reach gRPC clients as
		// gRPC statuses; other requests pass untouched.
		opts = append(opts, gateway.WithMiddleware(grpcErrors, grpcproxy.Errors))
		chain = append([]string{grpcErrors}, chain...)
	}
	if len(chain) > 0 {
		opts = append(opts, gateway.WithChain(chain...))
	}
	return opts, nil
}

// newErrors returns an empty collector of field errors that name the
// file and line of their field.
func (c *File) newErrors() fields.Collector {
	return fields.NewCollector(func(path, msg string) error {
		return c.annotate(&gateway.FieldError{Path: path, Msg: msg})
	})
}

// trustedProxies checks and parses the trusted_proxies list: CIDR
// prefixes, or addresses standing for a prefix of their own.
func (c *File) trustedProxies(errs fields.Collector) []netip.Prefix {
	var prefixes []netip.Prefix
	for i, s := range c.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				errs.Addf(fields.Index("trusted_proxies", i), "%q is not a CIDR prefix or an address, like \"10.0.0.0/8\"", s)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		prefixes = append(prefixes, p)
	}
	return prefixes
}

// filePart makes, at build time, what the file's sections borrow from the
// build's state: the upstream pools, the Redis store, the authenticators
// and the platform.
type filePart struct {
	c    *File
	grpc map[int]*grpcRoute // by route index
	ai   *aiPart
}

func (p *filePart) Prepare(b *gateway.Builder) error {
	c := p.c
	var errs []error
	pools := map[string]*upstream.Pool{}
	speaksGRPC := p.grpcUpstreams()
	for i, u := range c.Upstreams {
		pool, err := c.pool(b, fields.Index("upstreams", i), u, speaksGRPC[u.Name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pools[u.Name] = pool
		b.Apply(gateway.WithUpstream(pool))
	}
	errs = append(errs, p.prepareGRPC(pools)...)
	rs, serrs := c.store(b)
	errs = append(errs, serrs...)
	if p.ai != nil && rs != nil {
		p.ai.a.Redis = rs
	}
	errs = append(errs, authPart{consumers: c.Consumers, methods: c.authMethods()}.prepare(b)...)
	errs = append(errs, c.platform(b, rs)...)
	if len(errs) > 0 {
		return joinErrs(errs)
	}
	return nil
}

func (p *filePart) Mount(b *gateway.Builder) error {
	if errs := p.publishGRPC(b); len(errs) > 0 {
		return joinErrs(errs)
	}
	return nil
}

// pool borrows the pool an upstream section describes: the one of the
// previous build when the section, its TLS files' content, the logger and
// the meter provider are unchanged, so that its health and ejections
// carry over.
func (c *File) pool(b *gateway.Builder, at string, u Upstream, speaksGRPC bool) (*upstream.Pool, error) {
	cfg := upstream.Config{
		Name: u.Name, Instances: u.Instances, DNS: u.DNS, Balancer: u.Balancer,
		Outlier: u.Outlier,
		Logger:  b.Logger(), MeterProvider: b.MeterProvider(), ClientIP: clientIP,
	}
	if hc := u.HealthCheck; hc != nil {
		cfg.HealthCheck = new(hc.HealthCheck)
		if hc.GRPCService != nil {
			cfg.HealthCheck.Probe = grpcproxy.HealthProbe(*hc.GRPCService)
			speaksGRPC = true
		}
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
	v, err := b.Keep("upstream", func() (any, error) {
		if speaksGRPC {
			return newGRPCPool(cfg)
		}
		return upstream.New(cfg)
	}, u, tlsFiles, identity(b.Logger()), identity(b.MeterProvider()), speaksGRPC)
	if err != nil {
		return nil, pathErr(at, err)
	}
	if gp, ok := v.(*grpcPool); ok {
		return gp.Pool, nil
	}
	return v.(*upstream.Pool), nil
}

// Build creates the gateway the configuration describes. opts come after
// the configuration's own, so they can register the middleware it names.
// Errors name the field and, for a parsed file, its line.
func (c *File) Build(opts ...gateway.Option) (*gateway.Gateway, error) {
	own, err := c.Options()
	if err != nil {
		return nil, err
	}
	g, err := gateway.New(append(own, opts...)...)
	if err != nil {
		return nil, c.annotate(err)
	}
	return g, nil
}

// annotate adds the file and line to field errors.
func (c *File) annotate(err error) error {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		errs := multi.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = c.annotate(e)
		}
		return joinErrs(out)
	}
	var fe *gateway.FieldError
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

// pathErr turns an upstream or AI handler error such as
// "instances[1].url: no scheme" into a FieldError under the section's
// path at.
func pathErr(at string, err error) *gateway.FieldError {
	msg := trimPkg(err)
	if head, rest, ok := strings.Cut(msg, ": "); ok && !strings.ContainsAny(head, " \"") {
		return fieldErr(at+"."+head, "%s", rest)
	}
	return fieldErr(at, "%s", msg)
}

func trimPkg(err error) string {
	s := err.Error()
	for _, p := range []string{"portico/upstream: ", "upstream: ", "portico/ai: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}
