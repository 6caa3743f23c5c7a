// Command gateway runs a Portico gateway.
//
// With no flags it needs nothing else: it starts small demo services on
// loopback ports (users, with two instances, orders and the Shelf gRPC
// service), the platform (its state in a temporary directory, removed on
// exit) seeded with a demo tenant, its consumer "demo-app" with a key and
// an approved subscription to the API "users", and the API "orders",
// whose subscriptions wait for an administrator's approval; and it routes
// to them with the embedded default configuration, listening on loopback
// only. It prints, for people, the proxy and admin URLs, a one-time
// sign-in link to the console, the admin token, the demo key and three
// commands to paste:
//
//	go run ./examples/gateway
//	go run ./examples/gateway -demo-traffic   # a few calls a second, so the dashboard fills
//
// The demo configuration is for local trial. Its static demo consumer's
// key, "portico-demo-key" (or $DEMO_API_KEY), is public, so it reaches
// only the offline demo model, as does the platform's demo key. The real
// models that OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY add
// (OPENAI_BASE_URL points the first at any OpenAI-compatible server)
// answer only the operator key: $PORTICO_API_KEY, or a random key printed
// at start-up when it is not set. The console's admin token is
// $PORTICO_ADMIN_TOKEN, or a random one printed at start-up. -addr :8080
// opens the demo to the network; the gateway warns when it does.
//
// With -config it serves your own file instead (see gateway.example.yaml,
// which runs as it is from the repository root: a file naming ${DEMO_*}
// variables the environment does not set gets the demo services'
// loopback addresses), reloading it on SIGHUP or when the file changes.
// The proxy listens on 127.0.0.1:8080 unless -addr says otherwise, as the
// container image and the Kubernetes manifests in deploy/ do with
// -addr :8080.
//
// Logs (the access log among them) are lines for people on standard
// error (-log-format json makes them JSON lines), written in batches off
// the request path: -log-buffer bounds the bytes waiting (1 MiB; records
// beyond it are dropped and counted as the portico.log.dropped metric),
// and -log-buffer 0 writes each record at once.
package main

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/telemetry"
)

//go:embed default.yaml
var defaultConfig []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, os.LookupEnv, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// flags are the command-line settings.
type flags struct {
	addr, adminAddr, config string
	grace                   time.Duration
	level                   slog.Level
	logFormat               string
	logBuffer               int
	demoTraffic             bool
	cpuProfile              string
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "proxy listen address; \":8080\" listens on every interface")
	fs.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:9090", "admin listen address (the console at /platform/, /healthz, /readyz, /metrics, /routes, /upstreams, /apis/)")
	fs.StringVar(&f.config, "config", "", "configuration file (YAML or JSON); if empty, the embedded demo configuration with its demo services and platform")
	fs.DurationVar(&f.grace, "shutdown-grace", 0, "how long in-flight requests may finish on shutdown (default: the config's server.shutdown_grace, else 30s)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text (lines for people) or json (one JSON object a line, for log pipelines)")
	fs.IntVar(&f.logBuffer, "log-buffer", 1<<20, "bytes of log records held in memory and written in batches, off the request path (records over it are dropped and counted); 0 writes each record at once")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file on shutdown (how examples/gateway/default.pgo is made; see make pgo)")
	fs.BoolVar(&f.demoTraffic, "demo-traffic", false, "with the demo configuration: send a few calls a second with the demo key, so the dashboard has data at once")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := f.level.UnmarshalText([]byte(*logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	if f.logFormat != "text" && f.logFormat != "json" {
		return nil, fmt.Errorf("-log-format: %q is neither text nor json", f.logFormat)
	}
	if f.logBuffer < 0 {
		return nil, fmt.Errorf("-log-buffer: %d is negative", f.logBuffer)
	}
	if f.demoTraffic && f.config != "" {
		return nil, errors.New("-demo-traffic: only the demo configuration (no -config) has demo traffic")
	}
	return f, nil
}

// logs is the program's logger and the writer that batches its records.
type logs struct {
	*slog.Logger
	lw     *middleware.LogWriter // nil when each record is written at once
	stderr io.Writer
}

// newLogs makes the logger of f's -log-format, batched by -log-buffer.
func newLogs(f *flags, stderr io.Writer) *logs {
	l := &logs{stderr: stderr}
	out := stderr
	if f.logBuffer > 0 {
		l.lw = middleware.NewLogWriter(stderr, middleware.LogWriterConfig{Size: f.logBuffer})
		out = l.lw
	}
	opts := &slog.HandlerOptions{Level: f.level}
	if f.logFormat == "json" {
		l.Logger = slog.New(slog.NewJSONHandler(out, opts))
	} else {
		l.Logger = slog.New(slog.NewTextHandler(out, opts))
	}
	return l
}

// flush writes the records waiting, so that the start-up records (the
// addresses, the demo's keys) are shown at once.
func (l *logs) flush() {
	if l.lw != nil {
		_ = l.lw.Flush()
	}
}

// close writes the records waiting and says how many were dropped.
func (l *logs) close() {
	if l.lw == nil {
		return
	}
	_ = l.lw.Close()
	if n := l.lw.Dropped(); n > 0 {
		_, _ = fmt.Fprintf(l.stderr, "%d log records dropped: the log output fell behind (raise -log-buffer)\n", n)
	}
}

// run starts the gateway and serves until ctx is done. env looks up
// environment variables for the demo configuration. ready, if not nil,
// receives the proxy and admin addresses once both listen.
func run(ctx context.Context, args []string, stderr io.Writer, env func(string) (string, bool), ready func(proxy, admin net.Addr)) (err error) {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, stopProfile()) }()
	}
	lg := newLogs(f, stderr)
	defer lg.close()
	metrics, err := config.NewMetrics()
	if err != nil {
		return err
	}
	defer func() { _ = metrics.Shutdown(context.WithoutCancel(ctx)) }()
	if lg.lw != nil {
		if err := logDropMetric(metrics.Provider.Meter("github.com/portico-dev/portico/examples/gateway"), lg.lw); err != nil {
			return err
		}
	}
	opts := []gateway.Option{gateway.WithLogger(lg.Logger), gateway.WithMeterProvider(metrics.Provider)}
	var file *config.File
	if f.config != "" {
		// A file naming ${DEMO_*} variables (the example configuration)
		// runs against the demo services, started on loopback.
		services := &lazyDemo{logger: lg.Logger, env: env}
		defer services.close()
		env = services.lookup
		if file, err = readConfig(f.config, env); err != nil {
			return err
		}
	}
	tel, err := startTelemetry(ctx, lg.Logger, file)
	if err != nil {
		return err
	}
	if tel != nil {
		defer flushTelemetry(ctx, lg.Logger, tel)
		opts = append(opts, gateway.WithTracerProvider(tel.TracerProvider), gateway.WithPropagator(tel.Propagator))
		// The call log's otlp sink (platform.call_log.sinks) emits through
		// the global logger provider: OTLP when telemetry.logs is on.
		otel.SetLoggerProvider(tel.LoggerProvider)
	}
	return runGateway(ctx, f, lg, file, opts, env, metrics.Handler, ready)
}

// startCPUProfile starts profiling the CPU into a new file at path; the
// returned function stops, writes the profile out and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := out.Close(); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		return nil
	}, nil
}

// runGateway builds the gateway (from file, or the demo's), listens and
// serves until ctx is done.
func runGateway(ctx context.Context, f *flags, lg *logs, file *config.File, opts []gateway.Option,
	env func(string) (string, bool), metrics http.Handler, ready func(proxy, admin net.Addr)) error {
	var server gateway.ServerConfig
	var d *demo
	var err error
	if file != nil {
		// The listener's protocols, limits and TLS (with the client
		// certificates it requires) are read once: a reload changes routes
		// and policies, not the listener.
		if server, err = file.ServerConfig(); err != nil {
			return err
		}
	} else {
		if d, err = startDemo(lg.Logger, env); err != nil {
			return err
		}
		defer d.close()
	}
	if f.grace > 0 {
		server.ShutdownGrace = f.grace
	}
	server.Logger = lg.Logger
	rl, err := config.NewReloader(reloaderConfig(f, lg.Logger, opts, env, d))
	if err != nil {
		return err
	}
	defer func() { _ = rl.Close() }()
	proxyL, adminL, err := listen(ctx, f)
	if err != nil {
		return err
	}
	lg.Info("gateway listening", "proxy", httpURL(proxyL.Addr()), "admin", httpURL(adminL.Addr()),
		"tls", server.TLS != nil, "h2c", server.H2C)
	if d != nil {
		stop, err := d.open(ctx, f, lg, rl, proxyL.Addr(), adminL.Addr())
		if err != nil {
			_ = proxyL.Close()
			_ = adminL.Close()
			return err
		}
		defer stop()
	}
	lg.flush()
	if ready != nil {
		ready(proxyL.Addr(), adminL.Addr())
	}
	admin := gateway.Admin(gateway.AdminConfig{Gateway: rl.Current, Metrics: metrics})
	return serve(ctx, lg.Logger, server, rl, proxyL, admin, adminL)
}

// reloaderConfig configures the reloader. Each load borrows the
// reloader's state (limits, quotas, caches, breakers, pool health, the
// platform file), so a reload keeps what the gateway learned and can
// reopen nothing the running one holds. A file (-config) gets the
// reloader's default load, which reads it once per reload (for both its
// content and the sum Watch compares) and resolves its ${VAR}s with env;
// the demo builds its embedded configuration.
func reloaderConfig(f *flags, logger *slog.Logger, opts []gateway.Option, env func(string) (string, bool), d *demo) config.ReloadConfig {
	if d == nil {
		return config.ReloadConfig{Logger: logger, Path: f.config, Options: opts, Lookup: env}
	}
	return config.ReloadConfig{Logger: logger, Load: func(st *gateway.State) (*gateway.Gateway, error) {
		c, err := d.parse()
		if err != nil {
			return nil, err
		}
		return c.Build(append(slices.Clip(opts), gateway.WithState(st))...)
	}}
}

// readConfig reads the configuration file at path, taking ${VAR} values
// from env.
func readConfig(path string, env func(string) (string, bool)) (*config.File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-config: %w", err)
	}
	return config.Parse(path, data, env)
}

// listen opens the proxy and admin listeners.
func listen(ctx context.Context, f *flags) (proxy, admin net.Listener, err error) {
	var lc net.ListenConfig
	if proxy, err = lc.Listen(ctx, "tcp", f.addr); err != nil {
		return nil, nil, fmt.Errorf("-addr: %w", err)
	}
	if admin, err = lc.Listen(ctx, "tcp", f.adminAddr); err != nil {
		_ = proxy.Close()
		return nil, nil, fmt.Errorf("-admin-addr: %w", err)
	}
	return proxy, admin, nil
}

// flushTelemetry sends what telemetry holds and stops it.
func flushTelemetry(ctx context.Context, logger *slog.Logger, tel *telemetry.Providers) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(sctx); err != nil {
		logger.Warn("telemetry flush", "error", err)
	}
}

// startTelemetry sends traces over OTLP when the file's telemetry section
// or the standard OTEL_* environment variables name a collector
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
// OTEL_SERVICE_NAME, OTEL_PROPAGATORS, OTEL_TRACES_SAMPLER, …); it returns
// nil when neither does. Metrics stay on the admin /metrics for
// Prometheus unless the file turns OTLP metrics on.
func startTelemetry(ctx context.Context, logger *slog.Logger, file *config.File) (*telemetry.Providers, error) {
	cfg, ok := telemetry.FromEnv()
	if file != nil {
		var err error
		if cfg, ok, err = file.TelemetryConfig(); err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, nil
	}
	off := false
	if cfg.Metrics == nil {
		cfg.Metrics = &off
	}
	if cfg.Logs == nil {
		cfg.Logs = &off
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "portico-gateway"
	}
	p, err := telemetry.Setup(ctx, cfg)
	if err != nil {
		return nil, err
	}
	logger.Info("exporting traces over OTLP", "endpoint", cfg.Endpoint, "protocol", cmp.Or(cfg.Protocol, telemetry.ProtocolGRPC))
	return p, nil
}

// logDropMetric counts, as portico.log.dropped, the log records lw
// dropped because its output fell behind.
func logDropMetric(m metric.Meter, lw *middleware.LogWriter) error {
	_, err := m.Int64ObservableCounter("portico.log.dropped",
		metric.WithDescription("Log records dropped because the log output fell behind."),
		metric.WithUnit("{record}"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(lw.Dropped())) //nolint:gosec // a count of records never reaches 2^63
			return nil
		}))
	return err
}

// serve serves the proxy and admin listeners, and reloads, until ctx is
// done or one of them stops.
func serve(ctx context.Context, logger *slog.Logger, server gateway.ServerConfig, rl *config.Reloader, proxyL net.Listener, admin http.Handler, adminL net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	go func() { errc <- server.Serve(ctx, proxyL, rl) }()
	go func() {
		errc <- gateway.ServerConfig{ShutdownGrace: server.ShutdownGrace, Logger: logger}.Serve(ctx, adminL, admin)
	}()
	go func() { rl.Watch(ctx, 0); errc <- nil }()
	var errs []error
	for range 3 {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
		cancel() // one stopping stops all
	}
	logger.Info("gateway stopped")
	return errors.Join(errs...)
}

// Make sure the handler types line up with net/http.
var _ http.Handler = (*config.Reloader)(nil)
