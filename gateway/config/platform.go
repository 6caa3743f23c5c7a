package config

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/internal/fields"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/ratelimit"
	"github.com/portico-dev/portico/middleware/redisstore"
	"github.com/portico-dev/portico/telemetry"
)

// Platform is the platform section of a config file: where the platform
// keeps its state, who administers it, and its call log. It decodes into
// one [WithPlatform] call; routes then name their API with
// policy.subscription.
type Platform struct {
	// File is the platform's embedded store, a bbolt file (relative to
	// the config file's directory), for a single node. Set it or Redis.
	File string `yaml:"file"`
	// Redis keeps the state in the store section's Redis, shared by
	// replicas. Set it or File.
	Redis bool `yaml:"redis"`
	// AdminTokens maps each administrator (the actor in the audit log) to
	// its bearer token, at least 16 bytes; write tokens as "${ENV}".
	// Required.
	AdminTokens map[string]string `yaml:"admin_tokens"`
	// Refresh is how long a replica trusts its cached state; see
	// platform.WithRefresh. If zero, the store is asked on every request.
	Refresh time.Duration `yaml:"refresh"`
	// FailClosed answers 503 while the store is unreachable; see
	// platform.WithFailClosed.
	FailClosed bool `yaml:"fail_closed"`
	// SubscribeURL is where refusals send consumers to subscribe. If
	// empty, "/subscriptions".
	SubscribeURL string `yaml:"subscribe_url"`
	// UpstreamHealth shows the health of the gateway's upstream pools on
	// the dashboard (platform.WithUpstreamHealth). By default, no health
	// panel is shown.
	UpstreamHealth bool `yaml:"upstream_health"`
	// Currency is the ISO 4217 code of the AI price table's currency, in
	// which the dashboard writes costs (platform.WithCurrency). If empty,
	// "USD".
	Currency string `yaml:"currency"`
	// CallLog records one entry per call for the dashboard and the admin
	// API. If nil, calls are not recorded. The log lives in the process's
	// memory: a reload keeps it while this section is unchanged, and a
	// restart starts it afresh.
	CallLog *CallLog `yaml:"call_log"`
}

// CallLog sizes the in-process call log of a config file. The
// zero value keeps the latest 10000 calls and six hours of one-minute
// windows.
type CallLog struct {
	// Ring is how many of the latest calls are kept. If zero, 10000.
	Ring int `yaml:"ring"`
	// Buffer is the queue between requests and the log; when it is full,
	// records are dropped rather than delaying requests. If zero, 8192.
	Buffer int `yaml:"buffer"`
	// Resolution is the width of an aggregation window. If zero, 1m.
	Resolution time.Duration `yaml:"resolution"`
	// Retention is how long windows are kept, and so the longest range the
	// dashboard offers (up to 24h). If zero, 6h.
	Retention time.Duration `yaml:"retention"`
	// Sinks also send every record out of the process, each through its
	// own bounded queue ([calllog.Async]), so a slow or unreachable
	// destination never delays requests or the other sinks: its records
	// are dropped and counted (portico.calllog.dropped) instead.
	Sinks []CallLogSink `yaml:"sinks"`
	// Queue is how many batches each sink's queue holds. If zero, 64.
	Queue int `yaml:"queue"`
}

// CallLogSink is one destination of the call log; set exactly one field.
type CallLogSink struct {
	// Loki pushes records to Grafana Loki ([calllog.Loki]).
	Loki *CallLogLoki `yaml:"loki"`
	// File appends records as JSON lines to a file rotated by size
	// ([calllog.File]).
	File *CallLogFile `yaml:"file"`
	// OTLP emits one OpenTelemetry log record per call through the global
	// logger provider (telemetry.CallLog), which the telemetry section's
	// OTLP exporter sends on.
	OTLP *CallLogOTLP `yaml:"otlp"`
}

// CallLogLoki is the loki sink of the call log ([calllog.LokiConfig]).
type CallLogLoki struct {
	// URL is the base URL of Loki's push API, such as "http://loki:3100"
	// or, for VictoriaLogs, "http://victorialogs:9428/insert". Required.
	URL string `yaml:"url"`
	// Headers are sent with every push, such as X-Scope-OrgID; write
	// secrets as "${ENV}".
	Headers map[string]string `yaml:"headers"`
	// Labels are static labels of every stream. If empty, job: portico.
	Labels map[string]string `yaml:"labels"`
	// Timeout bounds one push. If zero, 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Gzip compresses each push. By default, pushes are uncompressed.
	Gzip bool `yaml:"gzip"`
}

// CallLogFile is the file sink of the call log ([calllog.FileConfig]).
type CallLogFile struct {
	// Path is the file (relative to the config file's directory).
	// Required.
	Path string `yaml:"path"`
	// MaxBytes rotates the file once it would grow past this size. If
	// zero, 100 MiB.
	MaxBytes int64 `yaml:"max_bytes"`
	// Keep is how many rotated files are kept. If zero, 5.
	Keep int `yaml:"keep"`
}

// CallLogOTLP is the OTLP logs sink of the call log. It has no settings
// of its own: the telemetry section (or the OTEL_* environment) says
// where logs go.
type CallLogOTLP struct{}

// platform turns the platform section into a WithPlatform option applied
// to the build, borrowing its file and its call log from the state.
func (c *File) platform(b *gateway.Builder, rs *redisstore.Store) []error {
	pc := c.Platform
	if pc == nil {
		return nil
	}
	errs := checkPlatform(pc, c.Store)
	if len(errs) > 0 {
		return errs
	}
	var store platform.Store
	switch {
	case pc.Redis:
		if rs == nil { // the store section is invalid: store said why
			return nil
		}
		store = rs.Documents()
	default:
		s, err := platformFile(b, c.rel(pc.File))
		if err != nil {
			return []error{fieldErr("platform.file", "%v", err)}
		}
		store = s
	}
	popts := []platform.Option{platform.WithRefresh(pc.Refresh)}
	for _, actor := range fields.SortedKeys(pc.AdminTokens) {
		popts = append(popts, platform.WithAdminToken(actor, pc.AdminTokens[actor]))
	}
	if pc.FailClosed {
		popts = append(popts, platform.WithFailClosed())
	}
	if pc.SubscribeURL != "" {
		popts = append(popts, platform.WithSubscribeURL(pc.SubscribeURL))
	}
	if l := b.Logger(); l != nil {
		popts = append(popts, platform.WithLogger(l))
	}
	if pc.Currency != "" {
		popts = append(popts, platform.WithCurrency(pc.Currency))
	}
	popts = append(popts, platform.WithQuotaLeft(c.quotaLeft(b.QuotaLeft())))
	docs := &apiDocs{}
	popts = append(popts, platform.WithAPIDocsFunc(docs.get))
	if pc.UpstreamHealth {
		popts = append(popts, platform.WithUpstreamHealth(upstreamHealth(b.Upstreams())))
	}
	var rec *calllog.Recorder
	if cl := pc.CallLog; cl != nil {
		log, err := callLog(b, *cl, c.rel("."))
		if err != nil {
			return []error{fieldErr("platform.call_log", "%v", err)}
		}
		rec = log.rec
		popts = append(popts, platform.WithCallLog(log.ring, log.agg))
	}
	// The gateway stops the platform's change feed when it is closed; the
	// state closes the recorder (flushing it) and the file once no
	// gateway uses them.
	b.Apply(gateway.WithPart(&platformPart{p: platform.New(store, popts...), rec: rec, docs: docs}))
	return nil
}

// upstreamHealth reads the dashboard's health panel from the gateway's
// pools: an instance takes traffic when its health checks pass and
// outlier detection has not ejected it.
func upstreamHealth(pools func() []gateway.UpstreamInfo) func() []platform.UpstreamHealth {
	return func() []platform.UpstreamHealth {
		var out []platform.UpstreamHealth
		for _, u := range pools() {
			h := platform.UpstreamHealth{Name: u.Name, Instances: len(u.Instances)}
			for _, in := range u.Instances {
				if in.Healthy && !in.Ejected {
					h.Healthy++
				}
			}
			if len(u.Instances) == 0 { // a pool that reports no instances
				h.Instances = 1
				if u.Ready {
					h.Healthy = 1
				}
			}
			out = append(out, h)
		}
		return out
	}
}

// quotaLeft gives the portal what a consumer has left of the gateway's
// quotas, with the platform API each route belongs to.
func (c *File) quotaLeft(f func(context.Context, *middleware.Consumer) map[string]ratelimit.QuotaState) func(context.Context, *middleware.Consumer) []platform.QuotaLeft {
	return func(ctx context.Context, con *middleware.Consumer) []platform.QuotaLeft {
		states := f(ctx, con)
		out := make([]platform.QuotaLeft, 0, len(states))
		for _, route := range fields.SortedKeys(states) {
			s := states[route]
			period := "day"
			if s.Period == ratelimit.Month {
				period = "month"
			}
			out = append(out, platform.QuotaLeft{Route: route, API: c.routeAPI(route), Period: period, Resets: s.Resets,
				Limit: s.Limit, Used: s.Used, Left: s.Left})
		}
		return out
	}
}

// routeAPI returns the platform API the route named name belongs to (its
// policy's subscription, or its API section's), or "".
func (c *File) routeAPI(name string) string {
	for _, r := range c.Routes {
		if r.Name == name {
			return r.Policy.Subscription
		}
	}
	for _, a := range c.APIs {
		if strings.HasPrefix(name, a.Name+" ") {
			return a.Policy.Subscription
		}
	}
	return ""
}

// platformFile borrows the platform's bbolt file at path. bbolt locks
// its file, so the process opens it once, and every build borrows it.
func platformFile(b *gateway.Builder, path string) (*platform.FileStore, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	v, err := b.Keep("platform_file", func() (any, error) { return platform.OpenFile(abs) }, abs)
	if err != nil {
		return nil, err
	}
	return v.(*platform.FileStore), nil
}

// callLogParts are the in-process call log: its recorder and sinks.
type callLogParts struct {
	rec     *calllog.Recorder
	ring    *calllog.Ring
	agg     *calllog.Aggregator
	async   []*calllog.AsyncSink
	closers []io.Closer
}

// Close flushes and stops the recorder, then drains and stops the
// sinks' queues and closes the files.
func (p *callLogParts) Close() error {
	var errs []error
	if p.rec != nil {
		errs = append(errs, recorderCloser{p.rec}.Close())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, a := range p.async {
		errs = append(errs, a.Close(ctx))
	}
	for _, c := range p.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// callLog borrows the call log: the previous build's, with its records,
// while the call_log section and the logger are unchanged.
func callLog(b *gateway.Builder, cl CallLog, dir string) (*callLogParts, error) {
	v, err := b.Keep("call_log", func() (any, error) {
		ring := calllog.NewRing(cmp.Or(cl.Ring, 10000))
		agg := calllog.NewAggregator(calllog.AggregatorConfig{Resolution: cl.Resolution, Retention: cl.Retention})
		p := &callLogParts{ring: ring, agg: agg}
		sinks := []calllog.Sink{ring, agg}
		for i, sc := range cl.Sinks {
			s, name, err := callLogSink(sc, dir)
			if err != nil {
				_ = p.Close()
				return nil, fmt.Errorf("sinks[%d].%s: %w", i, name, err)
			}
			if c, ok := s.(io.Closer); ok {
				p.closers = append(p.closers, c)
			}
			a := calllog.Async(s, calllog.AsyncConfig{Name: name, Buffer: cl.Queue, MeterProvider: b.MeterProvider(), Logger: b.Logger()})
			p.async = append(p.async, a)
			sinks = append(sinks, a)
		}
		p.rec = calllog.NewRecorder(calllog.RecorderConfig{Sinks: sinks, Buffer: cl.Buffer, Logger: b.Logger()})
		return p, nil
	}, cl, dir, identity(b.Logger()))
	if err != nil {
		return nil, err
	}
	return v.(*callLogParts), nil
}

// callLogSink makes the sink sc names, with paths relative to dir, and
// returns its kind.
func callLogSink(sc CallLogSink, dir string) (calllog.Sink, string, error) {
	switch {
	case sc.Loki != nil:
		l := sc.Loki
		return calllog.Loki(calllog.LokiConfig{URL: l.URL, Headers: l.Headers, Labels: l.Labels, Gzip: l.Gzip,
			Client: &http.Client{Timeout: cmp.Or(l.Timeout, 10*time.Second)}}), "loki", nil
	case sc.File != nil:
		path := sc.File.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		s, err := calllog.File(calllog.FileConfig{Path: path, MaxBytes: sc.File.MaxBytes, MaxBackups: sc.File.Keep})
		return s, "file", err
	default:
		return telemetry.CallLog(otel.GetLoggerProvider()), "otlp", nil
	}
}

// checkCallLogSinks validates the call log's sinks.
func checkCallLogSinks(cl *CallLog) []error {
	var errs []error
	if cl.Queue < 0 {
		errs = append(errs, fieldErr("platform.call_log.queue", "must not be negative"))
	}
	for i, sc := range cl.Sinks {
		at := fmt.Sprintf("platform.call_log.sinks[%d]", i)
		n := 0
		for _, set := range []bool{sc.Loki != nil, sc.File != nil, sc.OTLP != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			errs = append(errs, fieldErr(at, "set exactly one of loki, file or otlp"))
			continue
		}
		switch {
		case sc.Loki != nil:
			u, err := url.Parse(sc.Loki.URL)
			switch {
			case sc.Loki.URL == "":
				errs = append(errs, fieldErr(at+".loki.url", "is required: Loki's base URL, like http://loki:3100"))
			case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
				errs = append(errs, fieldErr(at+".loki.url", "%q is not an http(s) URL", sc.Loki.URL))
			}
			if sc.Loki.Timeout < 0 {
				errs = append(errs, fieldErr(at+".loki.timeout", "must not be negative"))
			}
		case sc.File != nil:
			if sc.File.Path == "" {
				errs = append(errs, fieldErr(at+".file.path", "is required: the file records are appended to"))
			}
			if sc.File.MaxBytes < 0 {
				errs = append(errs, fieldErr(at+".file.max_bytes", "must not be negative"))
			}
			if sc.File.Keep < 0 {
				errs = append(errs, fieldErr(at+".file.keep", "must not be negative"))
			}
		}
	}
	return errs
}

// checkPlatform validates the platform section.
func checkPlatform(pc *Platform, st *Store) []error {
	var errs []error
	switch {
	case pc.File == "" && !pc.Redis:
		errs = append(errs, fieldErr("platform.file", "is required: the platform's bbolt file, or set redis: true to use the store section's Redis"))
	case pc.File != "" && pc.Redis:
		errs = append(errs, fieldErr("platform.redis", "set either file or redis, not both"))
	case pc.Redis && (st == nil || st.Redis == nil || st.Redis.Address == ""):
		errs = append(errs, fieldErr("platform.redis", "needs the store section's redis address (store.redis.address)"))
	}
	if len(pc.AdminTokens) == 0 {
		errs = append(errs, fieldErr("platform.admin_tokens", "is required: map an administrator to a token, like root: ${PORTICO_ADMIN_TOKEN}"))
	}
	for _, actor := range fields.SortedKeys(pc.AdminTokens) {
		switch {
		case actor == "":
			errs = append(errs, fieldErr("platform.admin_tokens", "an administrator's name is empty"))
		case len(pc.AdminTokens[actor]) < 16:
			errs = append(errs, fieldErr("platform.admin_tokens."+actor, "the token must be at least 16 bytes; generate one with openssl rand -hex 16"))
		}
	}
	if pc.Refresh < 0 {
		errs = append(errs, fieldErr("platform.refresh", "must not be negative"))
	}
	if pc.Currency != "" && !isCurrencyCode(pc.Currency) {
		errs = append(errs, fieldErr("platform.currency", "%q is not an ISO 4217 code; write three capital letters, like USD or EUR", pc.Currency))
	}
	if cl := pc.CallLog; cl != nil {
		for _, f := range []struct {
			name string
			bad  bool
		}{{"ring", cl.Ring < 0}, {"buffer", cl.Buffer < 0}, {"resolution", cl.Resolution < 0}, {"retention", cl.Retention < 0}} {
			if f.bad {
				errs = append(errs, fieldErr("platform.call_log."+f.name, "must not be negative"))
			}
		}
		errs = append(errs, checkCallLogSinks(cl)...)
		if cl.Retention > 0 && cl.Resolution >= 0 && cl.Retention < cmp.Or(cl.Resolution, time.Minute) {
			errs = append(errs, fieldErr("platform.call_log.retention", "must be at least one resolution (%s)", cmp.Or(cl.Resolution, time.Minute)))
		}
	}
	return errs
}

// isCurrencyCode reports whether s has the form of an ISO 4217 code.
func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range []byte(s) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// recorderCloser flushes and stops a call-log recorder.
type recorderCloser struct{ rec *calllog.Recorder }

func (r recorderCloser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.rec.Close(ctx)
}
