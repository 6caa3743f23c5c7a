package config

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/grpcjson"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/openapi"
)

// Route is a route in a config file: a gateway.Route, whose fields it
// takes as its own, and how it speaks to its upstream.
//
// With protocol: grpc the route proxies gRPC calls of every streaming
// kind (a grpcproxy.Handler as the route's Serve); with translate it
// serves JSON/HTTP clients from the gRPC service (a grpcjson.Handler).
// Either way the route's upstream pool speaks HTTP/2 (h2c to http://
// instances, TLS to https:// ones) through a grpcproxy.Transport, so that
// retries, breakers and outlier ejection understand gRPC statuses, and
// the gateway's own errors reach gRPC clients as gRPC statuses. A
// translating route's services appear in the API catalog (/apis/<route
// name>/ on the admin listener) as OpenAPI generated from the
// descriptors. The
// route's policy (auth, rate limits, quotas, timeout, retries) applies as
// to any route; policy.timeout also bounds each call's grpc-timeout.
//
// In Go, the same route is a gateway.Route whose Serve returns a
// grpcproxy.Handler or a grpcjson.Handler, with a pool whose Transport is
// a grpcproxy.Transport.
type Route struct {
	gateway.Route
	// Protocol is "http" (the default) or "grpc".
	Protocol string `yaml:"protocol"`
	// Translate serves JSON/HTTP clients from a gRPC service; it excludes
	// protocol: grpc.
	Translate *Translate `yaml:"translate"`
	// IdempotentMethods names the gRPC methods ("/package.Service/Method")
	// that retries and hedges may send again (gRPC calls are POSTs, never
	// retried otherwise once sent). For protocol: grpc.
	IdempotentMethods []string `yaml:"idempotent_methods"`
}

// Translate describes the gRPC service a translating route serves JSON
// clients from; see package grpcjson.
type Translate struct {
	// Descriptors is a descriptor set file written by
	// "protoc --descriptor_set_out=FILE --include_imports". It is read
	// again by every build, so a reload picks up a new one. Set it or
	// Reflection.
	Descriptors string `yaml:"descriptors"`
	// Reflection asks the upstream for its services with the gRPC server
	// reflection protocol, at every build (the upstream must be up then,
	// with static instances). Set it or Descriptors.
	Reflection bool `yaml:"reflection"`
	// Services lists the full names of the services served, such as
	// "library.v1.Library". If empty, every service but grpc.* ones.
	Services []string `yaml:"services"`
	// Stream is how server-streaming methods answer: "ndjson" or "sse".
	// If empty, Server-Sent Events when the client accepts
	// text/event-stream, NDJSON otherwise.
	Stream string `yaml:"stream"`
}

// HealthCheck is an upstream pool's health check in a config file: an
// upstream.HealthCheck, whose fields it takes as its own, or a gRPC one.
type HealthCheck struct {
	upstream.HealthCheck
	// GRPCService, if set, checks instances with grpc.health.v1 for the
	// service named ("" for the server as a whole) in place of an HTTP
	// GET, and makes the pool speak HTTP/2 (see grpcproxy.HealthProbe).
	GRPCService *string `yaml:"grpc_service"`
}

// grpcErrors is the middleware name the file registers to answer gRPC
// clients' gateway errors as gRPC statuses.
const grpcErrors = "grpc_errors"

// reflectTimeout bounds a build's reflection calls.
const reflectTimeout = 10 * time.Second

// grpcRoute is a gRPC or translating route of a file, in one build.
type grpcRoute struct {
	at        string
	route     Route
	files     *protoregistry.Files // from the descriptor file, else from reflection at Prepare
	translate *grpcjson.Handler    // made at Prepare
}

// grpcRoutes checks the gRPC fields of the file's routes and reads their
// descriptor files.
func (c *File) grpcRoutes() (map[int]*grpcRoute, []error) {
	out := map[int]*grpcRoute{}
	errs := c.newErrors()
	for i, r := range c.Routes {
		at := fields.Index("routes", i)
		rat := errs.At(at)
		switch r.Protocol {
		case "", "http":
		case "grpc":
			if r.Translate != nil {
				rat.Addf("translate", "set protocol: grpc (gRPC clients) or translate (JSON clients), not both")
				continue
			}
		default:
			rat.Addf("protocol", "%q is not a protocol (known: http, grpc)", r.Protocol)
			continue
		}
		for j, m := range r.IdempotentMethods {
			if svc, meth, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/"); !strings.HasPrefix(m, "/") || !ok || svc == "" || meth == "" || strings.Contains(meth, "/") {
				rat.Addf(fields.Index("idempotent_methods", j), "%q is not a gRPC method, like \"/package.Service/Method\"", m)
			}
		}
		if len(r.IdempotentMethods) > 0 && r.Protocol != "grpc" {
			rat.Addf("idempotent_methods", "is for protocol: grpc routes")
		}
		if r.Protocol != "grpc" && r.Translate == nil {
			continue
		}
		if r.Upstream == "" && len(r.Split) == 0 {
			rat.Addf("upstream", "a gRPC route needs an upstream")
			continue
		}
		g := &grpcRoute{at: at, route: r}
		if t := r.Translate; t != nil {
			switch {
			case t.Descriptors != "" && t.Reflection:
				rat.Addf("translate.reflection", "set descriptors or reflection, not both")
				continue
			case t.Descriptors == "" && !t.Reflection:
				rat.Addf("translate.descriptors", "required (or reflection: true)")
				continue
			}
			switch t.Stream {
			case "", grpcjson.StreamNDJSON, grpcjson.StreamSSE:
			default:
				rat.Addf("translate.stream", "%q is not a stream format (known: ndjson, sse)", t.Stream)
				continue
			}
			if t.Reflection && r.Upstream == "" {
				rat.Addf("translate.reflection", "needs the route's upstream (not split) to ask")
				continue
			}
			if t.Descriptors != "" {
				files, err := grpcjson.LoadDescriptorSet(t.Descriptors)
				if err != nil {
					rat.Addf("translate.descriptors", "%v", err)
					continue
				}
				g.files = files
				h, err := g.handler(files)
				if err != nil {
					rat.Addf("translate", "%v", err)
					continue
				}
				g.translate = h
			}
		}
		out[i] = g
	}
	return out, errs.Errors()
}

// handler makes the translating handler of g from files.
func (g *grpcRoute) handler(files *protoregistry.Files) (*grpcjson.Handler, error) {
	t := g.route.Translate
	return grpcjson.New(grpcjson.Config{Files: files, Services: t.Services, Stream: t.Stream, Timeout: g.route.Policy.Timeout})
}

// serve is the route's Serve: the proxy or the translation, through the
// backend's transport.
func (g *grpcRoute) serve(tr http.RoundTripper) http.Handler {
	if g.translate != nil {
		return g.translate.WithTransport(tr)
	}
	if g.route.Translate != nil {
		// Reflection failed: the build fails with that error.
		return http.NotFoundHandler()
	}
	idem := map[string]bool{}
	for _, m := range g.route.IdempotentMethods {
		idem[m] = true
	}
	return &grpcproxy.Handler{Transport: tr, Timeout: g.route.Policy.Timeout,
		Idempotent: func(m string) bool { return idem[m] }}
}

// routes returns the file's routes as the builder takes them, gRPC ones
// served by their handlers.
func (p *filePart) routes() []gateway.Route {
	out := make([]gateway.Route, len(p.c.Routes))
	for i, r := range p.c.Routes {
		out[i] = r.Route
		if g := p.grpc[i]; g != nil {
			out[i].Serve = g.serve
		}
	}
	return out
}

// grpcUpstreams names the pools gRPC routes send to: they speak HTTP/2.
func (p *filePart) grpcUpstreams() map[string]bool {
	out := map[string]bool{}
	for _, g := range p.grpc {
		if g.route.Upstream != "" {
			out[g.route.Upstream] = true
		}
		for _, b := range g.route.Split {
			out[b.Upstream] = true
		}
	}
	return out
}

// prepareGRPC asks the upstreams of reflecting routes for their services.
func (p *filePart) prepareGRPC(pools map[string]*upstream.Pool) []error {
	var errs []error
	for _, g := range p.grpc {
		if g.route.Translate == nil || !g.route.Translate.Reflection {
			continue
		}
		pool := pools[g.route.Upstream]
		if pool == nil {
			continue // the route's compile names the unknown upstream
		}
		ctx, cancel := context.WithTimeout(context.Background(), reflectTimeout)
		files, err := grpcjson.Reflect(ctx, pool, "http://"+g.route.Upstream)
		cancel()
		if err != nil {
			errs = append(errs, p.c.annotate(fieldErr(g.at+".translate.reflection", "the upstream %q did not answer: %v", g.route.Upstream, err)))
			continue
		}
		h, err := g.handler(files)
		if err != nil {
			errs = append(errs, p.c.annotate(fieldErr(g.at+".translate", "%v", err)))
			continue
		}
		g.files, g.translate = files, h
	}
	return errs
}

// publishGRPC adds the translated services to the API catalog (/apis/ on
// the admin listener) as OpenAPI documents generated from their
// descriptors, named after their routes.
func (p *filePart) publishGRPC(b *gateway.Builder) []error {
	var errs []error
	for i := range p.c.Routes {
		g := p.grpc[i]
		if g == nil || g.translate == nil {
			continue
		}
		name := g.route.Name
		if name == "" {
			name = "route-" + strconv.Itoa(i)
		}
		title := strings.Join(g.route.Translate.Services, ", ")
		if title == "" {
			title = name + " (gRPC)"
		}
		doc, err := g.translate.OpenAPI(title, g.route.StripPrefix)
		if err == nil {
			var spec *openapi.Spec
			if spec, err = openapi.Parse(doc); err == nil {
				err = publish(b, name, spec)
			}
		}
		if err != nil {
			errs = append(errs, p.c.annotate(fieldErr(g.at+".translate", "cannot publish the API document: %v", err)))
		}
	}
	return errs
}

// grpcPool is an upstream pool speaking HTTP/2 through a
// grpcproxy.Transport, closing its connections when it is closed.
type grpcPool struct {
	*upstream.Pool
	h2 *http.Transport
}

func newGRPCPool(cfg upstream.Config) (*grpcPool, error) {
	h2 := grpcproxy.NewUpstreamTransport(cfg.TLS)
	cfg.TLS = nil
	cfg.Transport = &grpcproxy.Transport{Next: h2}
	p, err := upstream.New(cfg)
	if err != nil {
		return nil, err
	}
	return &grpcPool{Pool: p, h2: h2}, nil
}

// Close closes the pool, then its connections.
func (p *grpcPool) Close() error {
	err := p.Pool.Close()
	p.h2.CloseIdleConnections()
	return err
}
